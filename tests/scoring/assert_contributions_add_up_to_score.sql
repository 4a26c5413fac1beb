{#- On every account and date: the contributions of fct_health_factors add up to the
    health score of fct_health_history (within 1e-6), the effective weights to 1 and the
    pulls to the score minus the neutral score; no score means no contribution; and
    every factor row has its history row, on the dates this run wrote (health_test_relation).
    Returns the rows that break it. -#}

with health_factors as (

    select health_factors.* from {{ health_test_relation(ref('fct_health_factors')) }} as health_factors

),

history as (

    select history.* from {{ health_test_relation(ref('fct_health_history')) }} as history

),

settings as (

    select * from {{ ref('health_settings') }}

),

neutral as (

    select max(case when setting_key = 'neutral_score' then setting_value end) as neutral_score
    from settings

),

factor_totals as (

    select
        account_id,
        as_of_date,
        sum(contribution) as contribution_total,
        sum(effective_weight) as effective_weight_total,
        sum(pull) as pull_total
    from health_factors
    group by
        account_id,
        as_of_date

),

final as (

    select
        coalesce(history.account_id, factor_totals.account_id) as account_id,
        coalesce(history.as_of_date, factor_totals.as_of_date) as as_of_date,
        history.health_score,
        factor_totals.contribution_total,
        factor_totals.effective_weight_total,
        factor_totals.pull_total
    from history
    full outer join factor_totals
        on
            history.account_id = factor_totals.account_id
            and history.as_of_date = factor_totals.as_of_date
    cross join neutral
    where
        history.account_id is null
        or (history.health_score is null and coalesce(factor_totals.contribution_total, 0) <> 0)
        or (
            history.health_score is not null
            and (
                factor_totals.account_id is null
                or abs(factor_totals.contribution_total - history.health_score) > 1e-6
                or abs(factor_totals.effective_weight_total - 1) > 1e-6
                or abs(factor_totals.pull_total - (history.health_score - neutral.neutral_score)) > 1e-6
            )
        )

)

select * from final

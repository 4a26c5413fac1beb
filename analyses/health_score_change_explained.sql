{#-
    Why did an account's score change? The contributions of its factors on two
    as-of dates side by side: the score is the sum of the contributions, so the
    change of the score is the sum of the changes of the contributions. Set the
    account and the dates with vars:
    dbt compile -s health_score_change_explained --vars '{account_id: acc_0000001, from_date: 2026-09-27, to_date: 2026-10-25}'
-#}

{%- set account_id = var('account_id', 'acc_0000001') -%}
{%- set from_date = var('from_date', '2026-09-27') -%}
{%- set to_date = var('to_date', '2026-10-25') %}

with health_factors as (

    select * from {{ ref('fct_health_factors') }}

),

before_change as (

    select
        factor_key,
        metric_value,
        factor_score,
        effective_weight,
        contribution
    from health_factors
    where
        account_id = '{{ account_id }}'
        and as_of_date = cast('{{ from_date }}' as date)

),

after_change as (

    select
        factor_key,
        metric_value,
        factor_score,
        effective_weight,
        contribution
    from health_factors
    where
        account_id = '{{ account_id }}'
        and as_of_date = cast('{{ to_date }}' as date)

),

final as (

    select
        coalesce(after_change.factor_key, before_change.factor_key) as factor_key,
        before_change.metric_value as metric_before,
        after_change.metric_value as metric_after,
        before_change.factor_score as factor_score_before,
        after_change.factor_score as factor_score_after,
        before_change.effective_weight as effective_weight_before,
        after_change.effective_weight as effective_weight_after,
        coalesce(after_change.contribution, 0) - coalesce(before_change.contribution, 0) as contribution_change
    from after_change
    full outer join before_change
        on after_change.factor_key = before_change.factor_key

)

select * from final
order by abs(contribution_change) desc

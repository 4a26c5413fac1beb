{#-
    One row per account and catalogue step completed (seeds/onboarding_steps.csv):
    the UTC day of its first completion, the running count of catalogue steps the
    account had completed by then, and the day of the account's next first
    completion. A step not in the catalogue does not count; a step completed again
    counts once, from its first completion. Read by int_onboarding_metrics and,
    for the onboarding points, int_engagement_daily.
-#}

with steps as (

    select * from {{ ref('stg_product__onboarding_steps') }}

),

catalogue as (

    select * from {{ ref('onboarding_steps') }}

),

first_completions as (

    select
        steps.account_id,
        steps.step_key,
        min(cast(steps.completed_at as date)) as completed_date
    from steps
    inner join catalogue
        on steps.step_key = catalogue.step_key
    group by
        steps.account_id,
        steps.step_key

),

final as (

    select
        account_id,
        step_key,
        completed_date,
        count(*) over (
            partition by account_id
            order by completed_date, step_key
            rows between unbounded preceding and current row
        ) as steps_completed,
        lead(completed_date) over (
            partition by account_id
            order by completed_date, step_key
        ) as next_completed_date
    from first_completions

)

select * from final

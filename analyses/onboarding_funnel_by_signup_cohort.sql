{#-
    The onboarding funnel per signup cohort: for the accounts created in each
    calendar quarter, the share that completed each catalogue step (in the
    catalogue's step_order) within 90 days of their creation, and the median
    days it took those who did. Only cohorts whose youngest account is at least
    90 days old on the latest as-of date, so every account had its full 90 days.
    A step whose share drops sharply from the step before is where customers get
    stuck; a cohort that does worse than the one before points at a change in
    the product or in the onboarding team.
-#}

with as_of_dates as (

    select * from {{ ref('int_as_of_dates') }}

),

accounts as (

    select * from {{ ref('stg_crm__accounts') }}

),

completions as (

    select * from {{ ref('int_onboarding_steps_completed') }}

),

catalogue as (

    select * from {{ ref('onboarding_steps') }}

),

latest as (

    select as_of_date
    from as_of_dates
    where is_latest

),

cohort_accounts as (

    select
        accounts.account_id,
        cast(accounts.created_at as date) as created_date,
        cast({{ dbt.date_trunc('quarter', 'accounts.created_at') }} as date) as signup_quarter
    from accounts

),

complete_cohorts as (

    select cohort_accounts.signup_quarter
    from cohort_accounts
    cross join latest
    group by
        cohort_accounts.signup_quarter,
        latest.as_of_date
    having max(cohort_accounts.created_date) <= cast({{ dbt.dateadd('day', -90, 'latest.as_of_date') }} as date)

),

cohort_sizes as (

    select
        cohort_accounts.signup_quarter,
        count(*) as accounts
    from cohort_accounts
    inner join complete_cohorts
        on cohort_accounts.signup_quarter = complete_cohorts.signup_quarter
    group by cohort_accounts.signup_quarter

),

steps_within_90_days as (

    select
        cohort_accounts.signup_quarter,
        completions.step_key,
        {{ dbt.datediff('cohort_accounts.created_date', 'completions.completed_date', 'day') }} as days_to_complete
    from completions
    inner join cohort_accounts
        on completions.account_id = cohort_accounts.account_id
    where {{ dbt.datediff('cohort_accounts.created_date', 'completions.completed_date', 'day') }} < 90

),

funnel as (

    select
        cohort_sizes.signup_quarter,
        catalogue.step_order,
        catalogue.step_key,
        cohort_sizes.accounts,
        count(steps_within_90_days.step_key) as accounts_completed,
        percentile_cont(0.5) within group (order by steps_within_90_days.days_to_complete) as median_days
    from cohort_sizes
    cross join catalogue
    left join steps_within_90_days
        on
            cohort_sizes.signup_quarter = steps_within_90_days.signup_quarter
            and catalogue.step_key = steps_within_90_days.step_key
    group by
        cohort_sizes.signup_quarter,
        catalogue.step_order,
        catalogue.step_key,
        cohort_sizes.accounts

),

final as (

    select
        signup_quarter,
        step_order,
        step_key,
        accounts,
        accounts_completed,
        round(cast({{ pct('accounts_completed', 'accounts') }} as numeric), 1) as completed_within_90d_pct,
        median_days
    from funnel

)

select * from final
order by
    signup_quarter,
    step_order

{#-
    One row per account and day with usage: events, distinct active users, and
    the day of the account's next usage (for days_since_last_use).
-#}

{{ config(materialized='table') }}

with user_days as (

    select * from {{ ref('int_usage_user_days') }}

),

daily as (

    select
        account_id,
        usage_date,
        sum(events) as events,
        count(*) as active_users
    from user_days
    group by
        account_id,
        usage_date

),

final as (

    select
        account_id,
        usage_date,
        events,
        active_users,
        lead(usage_date) over (partition by account_id order by usage_date) as next_usage_date
    from daily

)

select * from final

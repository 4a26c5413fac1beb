{{ config(materialized='table') }}

{#-
    Product usage per account and UTC day with at least one event, summed from
    int_usage_user_days (never from the raw events again): events, distinct users
    that day (the daily active users), and the account's next day of use, which
    says until when a day is the account's last use.
-#}

with user_days as (

    select * from {{ ref('int_usage_user_days') }}

),

account_days as (

    select
        account_id,
        usage_date,
        sum(event_count) as event_count,
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
        event_count,
        active_users,
        lead(usage_date) over (
            partition by account_id
            order by usage_date
        ) as next_usage_date
    from account_days

)

select * from final

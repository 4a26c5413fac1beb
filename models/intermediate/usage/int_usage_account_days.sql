{{ config(materialized='table') }}

{#-
    Product usage per account and UTC day with at least one event, summed from
    int_usage_user_days (never from the raw events again): events and distinct
    users that day (the daily active users).
-#}

with user_days as (

    select * from {{ ref('int_usage_user_days') }}

),

final as (

    select
        account_id,
        usage_date,
        sum(event_count) as event_count,
        count(*) as active_users
    from user_days
    group by
        account_id,
        usage_date

)

select * from final

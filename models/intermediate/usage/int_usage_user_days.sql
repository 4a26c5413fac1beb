{#-
    Product usage reduced once: one row per account, user and day with at least
    one event. The usage_events table is by far the largest; every usage metric
    reads this reduction (or int_usage_account_days), never the events.
-#}

{{ config(materialized='table') }}

with events as (

    select * from {{ ref('stg_product__usage_events') }}

),

final as (

    select
        account_id,
        user_id,
        cast(occurred_at as date) as usage_date,
        count(*) as events
    from events
    group by
        account_id,
        user_id,
        cast(occurred_at as date)

)

select * from final

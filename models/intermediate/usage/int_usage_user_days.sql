{{ config(materialized='table') }}

{#-
    Usage events, by far the largest table, reduced ONCE to one row per account,
    user and UTC day of use (an event belongs to the UTC date of occurred_at, so
    23:59:59 is still that day and 00:00:00 is the next). next_usage_date is the
    user's next day of use: int_usage_metrics counts each active user once per
    as-of date from it, without count(distinct) over 30-day windows.
    Materialized as a table: every usage metric reads it or its daily sum.
-#}

with usage_events as (

    select * from {{ ref('stg_product__usage_events') }}

),

user_days as (

    select
        account_id,
        user_id,
        cast(occurred_at as date) as usage_date,
        count(*) as event_count
    from usage_events
    group by
        account_id,
        user_id,
        cast(occurred_at as date)

),

final as (

    select
        account_id,
        user_id,
        usage_date,
        event_count,
        lead(usage_date) over (
            partition by account_id, user_id
            order by usage_date
        ) as next_usage_date
    from user_days

)

select * from final

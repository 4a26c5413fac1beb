{{ config(**health_usage_incremental(
    source='int_usage_user_days',
    day='usage_date',
    events='event_count',
    fingerprint='event_fingerprint',
)) }}

{#-
    Product usage per account and UTC day with at least one event, summed from
    int_usage_user_days (never from the raw events again): events and distinct
    users that day (the daily active users).
    Incremental: a run recomputes the recent days and the older days whose
    user-days changed (doc health_incremental).
-#}

with user_days as (

    {{ health_usage_recomputed(ref('int_usage_user_days')) }}

),

final as (

    select
        account_id,
        usage_date,
        sum(event_count) as event_count,
        count(*) as active_users,
        sum(event_fingerprint) as event_fingerprint
    from user_days
    group by
        account_id,
        usage_date

)

select * from final

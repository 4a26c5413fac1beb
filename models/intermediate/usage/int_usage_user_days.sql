{{ config(**health_usage_incremental(
    source='stg_product__usage_events',
    day='cast(occurred_at as date)',
    events='1',
    fingerprint=health_usage_fingerprint(),
)) }}

{#-
    Usage events, by far the largest table, reduced ONCE to one row per account,
    user and UTC day of use (an event belongs to the UTC date of occurred_at, so
    23:59:59 is still that day and 00:00:00 is the next). event_fingerprint sums
    the events' fingerprints: a daily run compares it with the events to find the
    accounts whose earlier days changed (health_usage_incremental).
    Incremental: a run recomputes the recent days and the older days that
    changed (doc health_incremental).
-#}

with usage_events as (

    {{ health_usage_recomputed(ref('stg_product__usage_events')) }}

),

final as (

    select
        account_id,
        user_id,
        cast(occurred_at as date) as usage_date,
        count(*) as event_count,
        sum({{ health_usage_fingerprint() }})
            as event_fingerprint
    from usage_events
    group by
        account_id,
        user_id,
        cast(occurred_at as date)

)

select * from final

{{ config(**health_usage_incremental(
    source='stg_product__usage_events',
    day='cast(occurred_at as date)',
    events='1',
    fingerprint=health_usage_fingerprint(),
)) }}

{#-
    The days each account used each feature, one row per account, feature and
    UTC day. Every feature, not only the core ones: whether a feature is core and
    released by an as-of date is decided in int_usage_metrics, so a feature that
    becomes core needs no rebuild here. event_fingerprint as in int_usage_user_days.
    Incremental: a run recomputes the recent days and the older days that
    changed (doc health_incremental).
-#}

with usage_events as (

    {{ health_usage_recomputed(ref('stg_product__usage_events')) }}

),

final as (

    select
        account_id,
        feature_key,
        cast(occurred_at as date) as usage_date,
        count(*) as event_count,
        sum({{ health_usage_fingerprint() }})
            as event_fingerprint
    from usage_events
    group by
        account_id,
        feature_key,
        cast(occurred_at as date)

)

select * from final

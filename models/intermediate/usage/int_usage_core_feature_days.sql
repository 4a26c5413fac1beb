{{ config(materialized='table') }}

{#-
    The days each account used each core feature (features.is_core), one row per
    account, core feature and UTC day, with the account's next day of use of that
    feature: int_usage_metrics counts each core feature once per as-of date from
    it. Only core features are kept, so the reduction stays smaller than the
    events; whether a feature had been released by an as-of date is decided there.
-#}

with usage_events as (

    select * from {{ ref('stg_product__usage_events') }}

),

features as (

    select * from {{ ref('stg_product__features') }}

),

core_feature_days as (

    select
        usage_events.account_id,
        usage_events.feature_key,
        cast(usage_events.occurred_at as date) as usage_date,
        count(*) as event_count
    from usage_events
    inner join features
        on usage_events.feature_key = features.feature_key
    where features.is_core
    group by
        usage_events.account_id,
        usage_events.feature_key,
        cast(usage_events.occurred_at as date)

),

final as (

    select
        account_id,
        feature_key,
        usage_date,
        event_count,
        lead(usage_date) over (
            partition by account_id, feature_key
            order by usage_date
        ) as next_usage_date
    from core_feature_days

)

select * from final

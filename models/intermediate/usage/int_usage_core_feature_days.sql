{#- One row per account, core feature and day on which the feature was used. -#}

{{ config(materialized='table') }}

with events as (

    select * from {{ ref('stg_product__usage_events') }}

),

features as (

    select * from {{ ref('stg_product__features') }}

),

final as (

    select distinct
        events.account_id,
        events.feature_key,
        cast(events.occurred_at as date) as usage_date
    from events
    inner join features
        on events.feature_key = features.feature_key
    where features.is_core

)

select * from final

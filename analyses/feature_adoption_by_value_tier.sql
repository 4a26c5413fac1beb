{#-
    Which features each value tier actually uses: as of the latest as-of date D,
    for the customers of each value tier (int_account_segments, the tier the
    health score uses), the share of accounts that used each feature released by
    D in the trailing 30 days (D-29 .. D), and how many of their users did. Core
    features first, then by adoption: a core feature that a tier does not adopt
    is a training or product question; a non-core feature adopted by enterprise
    but not smb is an upsell argument. The last column repeats the tier's mean
    core_feature_adoption (int_usage_metrics) for comparison.
-#}

with as_of_dates as (

    select * from {{ ref('int_as_of_dates') }}

),

segments as (

    select * from {{ ref('int_account_segments') }}

),

usage_metrics as (

    select * from {{ ref('int_usage_metrics') }}

),

usage_events as (

    select * from {{ ref('stg_product__usage_events') }}

),

features as (

    select * from {{ ref('stg_product__features') }}

),

latest as (

    select
        as_of_date,
        cast({{ dbt.dateadd('day', -29, 'as_of_date') }} as date) as window_start
    from as_of_dates
    where is_latest

),

customers as (

    select
        segments.account_id,
        segments.value_tier,
        usage_metrics.core_feature_adoption
    from segments
    inner join latest
        on segments.as_of_date = latest.as_of_date
    left join usage_metrics
        on
            segments.account_id = usage_metrics.account_id
            and segments.as_of_date = usage_metrics.as_of_date
    where segments.is_customer

),

tiers as (

    select
        value_tier,
        count(*) as customers,
        avg(core_feature_adoption) as mean_core_feature_adoption
    from customers
    group by value_tier

),

released_features as (

    select
        features.feature_key,
        features.feature_name,
        features.is_core
    from features
    cross join latest
    where coalesce(features.released_at, cast('1900-01-01' as date)) <= latest.as_of_date

),

feature_use_30d as (

    select
        usage_events.account_id,
        usage_events.feature_key,
        count(distinct usage_events.user_id) as feature_users
    from usage_events
    cross join latest
    where
        cast(usage_events.occurred_at as date) >= latest.window_start
        and cast(usage_events.occurred_at as date) <= latest.as_of_date
    group by
        usage_events.account_id,
        usage_events.feature_key

),

adoption as (

    select
        customers.value_tier,
        released_features.feature_key,
        released_features.feature_name,
        released_features.is_core,
        count(feature_use_30d.account_id) as adopting_accounts,
        avg(feature_use_30d.feature_users) as users_per_adopting_account
    from customers
    cross join released_features
    left join feature_use_30d
        on
            customers.account_id = feature_use_30d.account_id
            and released_features.feature_key = feature_use_30d.feature_key
    group by
        customers.value_tier,
        released_features.feature_key,
        released_features.feature_name,
        released_features.is_core

),

final as (

    select
        adoption.value_tier,
        adoption.feature_key,
        adoption.feature_name,
        adoption.is_core,
        tiers.customers,
        adoption.adopting_accounts,
        round(cast({{ pct('adoption.adopting_accounts', 'tiers.customers') }} as numeric), 1) as adoption_pct,
        round(cast(adoption.users_per_adopting_account as numeric), 1) as users_per_adopting_account,
        round(cast(tiers.mean_core_feature_adoption as numeric), 1) as tier_mean_core_feature_adoption
    from adoption
    inner join tiers
        on adoption.value_tier = tiers.value_tier

)

select * from final
order by
    case value_tier when 'enterprise' then 1 when 'mid_market' then 2 when 'smb' then 3 else 4 end asc,
    is_core desc,
    adoption_pct desc,
    feature_key asc

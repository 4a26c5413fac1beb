{#-
    Product-usage metrics of every account as of every as-of date (docs:
    _usage__docs.md), from the daily reductions: trailing windows join the
    usage days that fall in them (each usage day meets about N / 7 weekly
    as-of dates), never the raw events.
-#}

with spine as (

    select * from {{ ref('int_account_as_of_dates') }}

),

as_of_dates as (

    select * from {{ ref('int_as_of_dates') }}

),

user_days as (

    select * from {{ ref('int_usage_user_days') }}

),

account_days as (

    select * from {{ ref('int_usage_account_days') }}

),

core_feature_days as (

    select * from {{ ref('int_usage_core_feature_days') }}

),

features as (

    select * from {{ ref('stg_product__features') }}

),

subscriptions as (

    select * from {{ ref('int_subscription_metrics') }}

),

windows as (

    select
        as_of_date,
        cast({{ dbt.dateadd('day', -29, 'as_of_date') }} as date) as window_30_start,
        cast({{ dbt.dateadd('day', -59, 'as_of_date') }} as date) as window_60_start
    from as_of_dates

),

-- Events and daily active users in the trailing 30 days (D-29 .. D) and in the
-- 30 days before those (D-59 .. D-30).
account_windows as (

    select
        account_days.account_id,
        windows.as_of_date,
        count(case when account_days.usage_date >= windows.window_30_start then 1 end) as active_days_30d,
        sum(
            case when account_days.usage_date >= windows.window_30_start then account_days.events else 0 end
        ) as events_30d,
        sum(
            case when account_days.usage_date < windows.window_30_start then account_days.events else 0 end
        ) as events_prior_30d,
        sum(
            case when account_days.usage_date >= windows.window_30_start then account_days.active_users else 0 end
        ) as daily_active_users_sum_30d
    from account_days
    inner join windows
        on
            account_days.usage_date >= windows.window_60_start
            and account_days.usage_date <= windows.as_of_date
    group by
        account_days.account_id,
        windows.as_of_date

),

users_30d as (

    select
        user_days.account_id,
        windows.as_of_date,
        count(distinct user_days.user_id) as active_users_30d
    from user_days
    inner join windows
        on
            user_days.usage_date >= windows.window_30_start
            and user_days.usage_date <= windows.as_of_date
    group by
        user_days.account_id,
        windows.as_of_date

),

core_features_used_30d as (

    select
        core_feature_days.account_id,
        windows.as_of_date,
        count(distinct core_feature_days.feature_key) as core_features_used_30d
    from core_feature_days
    inner join windows
        on
            core_feature_days.usage_date >= windows.window_30_start
            and core_feature_days.usage_date <= windows.as_of_date
    group by
        core_feature_days.account_id,
        windows.as_of_date

),

-- A core feature with no release date counts as released from the start.
core_features_released as (

    select
        as_of_dates.as_of_date,
        count(features.feature_key) as core_features_released
    from as_of_dates
    left join features
        on
            features.is_core
            and (features.released_at is null or features.released_at <= as_of_dates.as_of_date)
    group by as_of_dates.as_of_date

),

-- The last usage day on or before D: the usage day whose next usage day is after D.
last_use as (

    select
        account_days.account_id,
        as_of_dates.as_of_date,
        account_days.usage_date as last_usage_date
    from account_days
    inner join as_of_dates
        on
            account_days.usage_date <= as_of_dates.as_of_date
            and (account_days.next_usage_date is null or account_days.next_usage_date > as_of_dates.as_of_date)

),

final as (

    select
        spine.account_id,
        spine.as_of_date,
        coalesce(users_30d.active_users_30d, 0) as active_users_30d,
        cast(
            {{ pct('coalesce(users_30d.active_users_30d, 0)', 'subscriptions.seats') }} as double precision
        ) as seat_utilization,
        cast(
            case
                when coalesce(users_30d.active_users_30d, 0) = 0 then 0
                else 100.0 * (account_windows.daily_active_users_sum_30d / 30.0) / users_30d.active_users_30d
            end as double precision
        ) as stickiness,
        coalesce(account_windows.active_days_30d, 0) as active_days_30d,
        cast(
            {{ pct('coalesce(core_features_used_30d.core_features_used_30d, 0)',
                   'core_features_released.core_features_released') }} as double precision
        ) as core_feature_adoption,
        cast(
            100.0 * (
                (coalesce(account_windows.events_30d, 0) + 1.0)
                / (coalesce(account_windows.events_prior_30d, 0) + 1.0)
                - 1
            ) as double precision
        ) as usage_trend,
        {{ dbt.datediff('last_use.last_usage_date', 'spine.as_of_date', 'day') }} as days_since_last_use
    from spine
    left join users_30d
        on spine.account_id = users_30d.account_id and spine.as_of_date = users_30d.as_of_date
    left join account_windows
        on spine.account_id = account_windows.account_id and spine.as_of_date = account_windows.as_of_date
    left join core_features_used_30d
        on
            spine.account_id = core_features_used_30d.account_id
            and spine.as_of_date = core_features_used_30d.as_of_date
    left join core_features_released
        on spine.as_of_date = core_features_released.as_of_date
    left join last_use
        on spine.account_id = last_use.account_id and spine.as_of_date = last_use.as_of_date
    left join subscriptions
        on spine.account_id = subscriptions.account_id and spine.as_of_date = subscriptions.as_of_date

)

select * from final

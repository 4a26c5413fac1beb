{{ config(**health_as_of_incremental()) }}
{%- set recompute_from = health_recompute_from() %}
{#-
    the first day the trailing 30 days of the recomputed dates reach (none: every day): the
    user-days and core-feature days are read from there, since only those 30 days count them;
    their next day of use looks forward only, so it is the same as over every day (D40)
-#}
{%- set first_30d_day = none if recompute_from is none
    else dbt.dateadd('day', -29, "cast('" ~ recompute_from ~ "' as date)") %}

{#-
    Product-usage metrics of every account as of every as-of date D, exactly the
    rows of int_account_as_of_dates (docs: _usage__docs.md). Read only from the
    daily reductions of the usage events (int_usage_user_days,
    int_usage_account_days, int_usage_feature_days), never from the events.

    Trailing windows join the daily rows to window_days, the calendar of the 60
    days D-59 .. D of every as-of date (days_before 0 .. 59): an equality join on
    the day, i.e. the range join usage_date > D - N and usage_date <= D done as a
    hash join. Trailing 30 days = days_before 0 .. 29 (D-29 .. D), the 30 days
    before them = days_before 30 .. 59 (D-59 .. D-30).

    Distinct users (and distinct core features) are not summed from daily counts:
    a user-day counts for D only when it is the user's last day of use on or
    before D (next_usage_date after D, or none), so each user active in the
    window is counted exactly once without count(distinct).

    The last day of use is not bounded by a window: each usage day is mapped to
    its as-of period (the first as-of date on or after it, through a small
    calendar), the account's last use per period is kept, and the last use on D
    is the one of the latest period with use on or before D.
    Incremental (doc health_incremental): a run recomputes only its recent as-of dates.
-#}

with spine as (

    select * from {{ ref('int_account_as_of_dates') }}
    {{ health_dates_from(recompute_from) }}

),

as_of_dates as (

    select * from {{ ref('int_as_of_dates') }}
    {{ health_dates_from(recompute_from) }}

),

-- The user-days of the windows, each with the user's next day of use (null: none yet).
user_days as (

    select
        account_id,
        user_id,
        usage_date,
        lead(usage_date) over (partition by account_id, user_id order by usage_date) as next_usage_date
    from {{ ref('int_usage_user_days') }}
    {% if first_30d_day %}where usage_date >= {{ first_30d_day }}{% endif %}

),

account_days as (

    select * from {{ ref('int_usage_account_days') }}

),

features as (

    select * from {{ ref('stg_product__features') }}

),

subscription_metrics as (

    select * from {{ ref('int_subscription_metrics') }}
    {{ health_dates_from(recompute_from) }}

),

-- The 60 days D-59 .. D of every as-of date, with their distance from D.
window_days as (

    select
        as_of_dates.as_of_date,
        cast({{ dbt.dateadd('day', '1 - series.generated_number', 'as_of_dates.as_of_date') }} as date)
            as window_date,
        series.generated_number - 1 as days_before
    from as_of_dates
    cross join ({{ dbt.generate_series(60) }}) as series

),

-- Events, active days and daily active users summed over the windows.
account_windows as (

    select
        account_days.account_id,
        window_days.as_of_date,
        sum(case when window_days.days_before < 30 then account_days.event_count else 0 end) as events_30d,
        sum(case when window_days.days_before >= 30 then account_days.event_count else 0 end) as events_prior_30d,
        count(case when window_days.days_before < 30 then 1 end) as active_days_30d,
        sum(case when window_days.days_before < 30 then account_days.active_users else 0 end)
            as daily_active_users_sum_30d
    from account_days
    inner join window_days
        on account_days.usage_date = window_days.window_date
    group by
        account_days.account_id,
        window_days.as_of_date

),

-- Distinct users of the trailing 30 days: each counted on their last day of use on or before D.
active_users as (

    select
        user_days.account_id,
        window_days.as_of_date,
        count(*) as active_users_30d
    from user_days
    inner join window_days
        on
            user_days.usage_date = window_days.window_date
            and window_days.days_before < 30
    where
        user_days.next_usage_date is null
        or user_days.next_usage_date > window_days.as_of_date
    group by
        user_days.account_id,
        window_days.as_of_date

),

-- Core features and the date they exist from: no release date = released from the start.
core_features as (

    select
        feature_key,
        coalesce(released_at, cast('1900-01-01' as date)) as released_date
    from features
    where is_core

),

core_features_released as (

    select
        as_of_dates.as_of_date,
        count(core_features.feature_key) as core_features_released
    from as_of_dates
    left join core_features
        on as_of_dates.as_of_date >= core_features.released_date
    group by as_of_dates.as_of_date

),

-- The days each account used each core feature, with its next day of use of that feature (null: none yet).
core_feature_days as (

    select
        feature_days.account_id,
        feature_days.feature_key,
        feature_days.usage_date,
        lead(feature_days.usage_date) over (
            partition by feature_days.account_id, feature_days.feature_key
            order by feature_days.usage_date
        ) as next_usage_date
    from {{ ref('int_usage_feature_days') }} as feature_days
    inner join core_features
        on feature_days.feature_key = core_features.feature_key
    {% if first_30d_day %}where feature_days.usage_date >= {{ first_30d_day }}{% endif %}

),

-- Distinct core features, released on or before D, used in the trailing 30 days: each counted
-- on the account's last day of use of the feature on or before D.
core_features_used as (

    select
        core_feature_days.account_id,
        window_days.as_of_date,
        count(*) as core_features_used_30d
    from core_feature_days
    inner join window_days
        on
            core_feature_days.usage_date = window_days.window_date
            and window_days.days_before < 30
    inner join core_features
        on
            core_feature_days.feature_key = core_features.feature_key
            and window_days.as_of_date >= core_features.released_date
    where
        core_feature_days.next_usage_date is null
        or core_feature_days.next_usage_date > window_days.as_of_date
    group by
        core_feature_days.account_id,
        window_days.as_of_date

),

-- Every calendar day from the first day of use, with its as-of period: the first as-of date on or
-- after it (days after the latest as-of date have none). One row per day: small.
usage_calendar as (

    select
        cast({{ dbt.dateadd('day', 'series.generated_number - 1', 'first_use.first_usage_date') }} as date)
            as calendar_date
    from (select min(usage_date) as first_usage_date from account_days) as first_use
    cross join ({{ dbt.generate_series(8192) }}) as series

),

day_periods as (

    select
        usage_calendar.calendar_date,
        min(as_of_dates.as_of_date) as period_as_of_date
    from usage_calendar
    inner join as_of_dates
        on usage_calendar.calendar_date <= as_of_dates.as_of_date
    group by usage_calendar.calendar_date

),

-- The account's last day of use in each as-of period it used the product in, and the next such period.
period_last_use as (

    select
        account_days.account_id,
        day_periods.period_as_of_date,
        max(account_days.usage_date) as last_usage_date
    from account_days
    inner join day_periods
        on account_days.usage_date = day_periods.calendar_date
    group by
        account_days.account_id,
        day_periods.period_as_of_date

),

period_spans as (

    select
        account_id,
        period_as_of_date,
        last_usage_date,
        coalesce(
            lead(period_as_of_date) over (partition by account_id order by period_as_of_date),
            cast('9999-12-31' as date)
        ) as next_used_period_as_of_date
    from period_last_use

),

-- The last day of use on or before D: the one of the latest period with use on or before D.
last_use as (

    select
        period_spans.account_id,
        as_of_dates.as_of_date,
        period_spans.last_usage_date
    from period_spans
    inner join as_of_dates
        on
            period_spans.period_as_of_date <= as_of_dates.as_of_date
            and period_spans.next_used_period_as_of_date > as_of_dates.as_of_date

),

measures as (

    select
        spine.account_id,
        spine.as_of_date,
        cast(coalesce(active_users.active_users_30d, 0) as double precision) as active_users_30d,
        cast(coalesce(account_windows.daily_active_users_sum_30d, 0) as double precision)
            as daily_active_users_sum_30d,
        cast(coalesce(account_windows.active_days_30d, 0) as double precision) as active_days_30d,
        cast(coalesce(account_windows.events_30d, 0) as double precision) as events_30d,
        cast(coalesce(account_windows.events_prior_30d, 0) as double precision) as events_prior_30d,
        cast(coalesce(core_features_used.core_features_used_30d, 0) as double precision) as core_features_used_30d,
        cast(core_features_released.core_features_released as double precision) as core_features_released,
        cast(subscription_metrics.seats as double precision) as seats,
        last_use.last_usage_date
    from spine
    left join account_windows
        on
            spine.account_id = account_windows.account_id
            and spine.as_of_date = account_windows.as_of_date
    left join active_users
        on
            spine.account_id = active_users.account_id
            and spine.as_of_date = active_users.as_of_date
    left join core_features_used
        on
            spine.account_id = core_features_used.account_id
            and spine.as_of_date = core_features_used.as_of_date
    left join core_features_released
        on spine.as_of_date = core_features_released.as_of_date
    left join subscription_metrics
        on
            spine.account_id = subscription_metrics.account_id
            and spine.as_of_date = subscription_metrics.as_of_date
    left join last_use
        on
            spine.account_id = last_use.account_id
            and spine.as_of_date = last_use.as_of_date

),

final as (

    select
        account_id,
        as_of_date,
        active_users_30d,
        cast({{ pct('active_users_30d', 'seats') }} as double precision) as seat_utilization,
        cast(
            case
                when active_users_30d = 0 then 0
                else {{ pct('daily_active_users_sum_30d', '30 * active_users_30d') }}
            end as double precision
        ) as stickiness,
        active_days_30d,
        cast({{ pct('core_features_used_30d', 'core_features_released') }} as double precision)
            as core_feature_adoption,
        cast(100 * ((events_30d + 1) / (events_prior_30d + 1) - 1) as double precision) as usage_trend,
        cast({{ dbt.datediff('last_usage_date', 'as_of_date', 'day') }} as double precision) as days_since_last_use
    from measures

)

select * from final

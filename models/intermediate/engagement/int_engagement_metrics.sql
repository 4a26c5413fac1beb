{{ config(**health_as_of_incremental()) }}
{%- set recompute_from = health_recompute_from() %}

{#-
    engagement_points_90d of every account as of every as-of date D, exactly the
    rows of int_account_as_of_dates (docs: _engagement__docs.md): the points of
    the trailing 90 days D-89 .. D, summed from the daily points of
    int_engagement_daily; 0 when none.

    The window joins the daily rows to window_days, the calendar of the 90 days
    D-89 .. D of every as-of date: the range join action_date > D - 90 and
    action_date <= D done as an equality (hash) join on the day.
-#}

with spine as (

    select * from {{ ref('int_account_as_of_dates') }}
    {{ health_dates_from(recompute_from) }}

),

as_of_dates as (

    select * from {{ ref('int_as_of_dates') }}
    {{ health_dates_from(recompute_from) }}

),

daily as (

    select * from {{ ref('int_engagement_daily') }}

),

-- The 90 days D-89 .. D of every as-of date.
window_days as (

    select
        as_of_dates.as_of_date,
        cast({{ dbt.dateadd('day', '1 - series.generated_number', 'as_of_dates.as_of_date') }} as date)
            as window_date
    from as_of_dates
    cross join ({{ dbt.generate_series(90) }}) as series

),

points_90d as (

    select
        daily.account_id,
        window_days.as_of_date,
        sum(daily.engagement_points) as engagement_points_90d
    from daily
    inner join window_days
        on daily.action_date = window_days.window_date
    group by
        daily.account_id,
        window_days.as_of_date

),

final as (

    select
        spine.account_id,
        spine.as_of_date,
        cast(coalesce(points_90d.engagement_points_90d, 0) as double precision) as engagement_points_90d
    from spine
    left join points_90d
        on
            spine.account_id = points_90d.account_id
            and spine.as_of_date = points_90d.as_of_date

)

select * from final

{#-
    engagement_points_90d of every account as of every as-of date (docs:
    _engagement__docs.md): the points of the trailing 90 days (D-89 .. D); 0
    when none.
-#}

with spine as (

    select * from {{ ref('int_account_as_of_dates') }}

),

as_of_dates as (

    select * from {{ ref('int_as_of_dates') }}

),

daily as (

    select * from {{ ref('int_engagement_daily') }}

),

windows as (

    select
        as_of_date,
        cast({{ dbt.dateadd('day', -89, 'as_of_date') }} as date) as window_90_start
    from as_of_dates

),

points_90d as (

    select
        daily.account_id,
        windows.as_of_date,
        sum(daily.engagement_points) as engagement_points_90d
    from daily
    inner join windows
        on
            daily.action_date >= windows.window_90_start
            and daily.action_date <= windows.as_of_date
    group by
        daily.account_id,
        windows.as_of_date

),

final as (

    select
        spine.account_id,
        spine.as_of_date,
        cast(coalesce(points_90d.engagement_points_90d, 0) as double precision) as engagement_points_90d
    from spine
    left join points_90d
        on spine.account_id = points_90d.account_id and spine.as_of_date = points_90d.as_of_date

)

select * from final

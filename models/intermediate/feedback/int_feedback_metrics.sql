{{ config(**health_as_of_incremental()) }}
{%- set recompute_from = health_recompute_from() %}

{#-
    Product feedback sentiment of every account as of every as-of date (docs:
    _feedback__docs.md). Feedback is reduced once to account x day, and the
    trailing 180-day window sums those days. A piece of feedback counts as of D
    when submitted_at is on or before the end of D.
-#}

with spine as (

    select * from {{ ref('int_account_as_of_dates') }}
    {{ health_dates_from(recompute_from) }}

),

as_of_dates as (

    select * from {{ ref('int_as_of_dates') }}
    {{ health_dates_from(recompute_from) }}

),

feedback as (

    select * from {{ ref('stg_product__feedback') }}

),

windows as (

    select
        as_of_date,
        cast({{ dbt.dateadd('day', -179, 'as_of_date') }} as date) as window_180_start
    from as_of_dates

),

feedback_daily as (

    select
        account_id,
        cast(submitted_at as date) as submitted_date,
        count(*) as feedback_count,
        count(case when sentiment = 'positive' then 1 end) as positive_count,
        count(case when sentiment = 'negative' then 1 end) as negative_count
    from feedback
    group by
        account_id,
        cast(submitted_at as date)

),

feedback_windows as (

    select
        feedback_daily.account_id,
        windows.as_of_date,
        sum(feedback_daily.feedback_count) as feedback_count,
        sum(feedback_daily.positive_count) as positive_count,
        sum(feedback_daily.negative_count) as negative_count
    from feedback_daily
    inner join windows
        on
            feedback_daily.submitted_date >= windows.window_180_start
            and feedback_daily.submitted_date <= windows.as_of_date
    group by
        feedback_daily.account_id,
        windows.as_of_date

),

final as (

    select
        spine.account_id,
        spine.as_of_date,
        cast(
            {{ pct('feedback_windows.positive_count - feedback_windows.negative_count',
                'feedback_windows.feedback_count') }}
            as double precision
        ) as feedback_sentiment
    from spine
    left join feedback_windows
        on
            spine.account_id = feedback_windows.account_id
            and spine.as_of_date = feedback_windows.as_of_date

)

select * from final

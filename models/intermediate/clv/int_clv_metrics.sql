{{ config(**health_as_of_incremental()) }}
{%- set recompute_from = health_recompute_from() %}

{#-
    Customer lifetime value of every account as of every as-of date D (exactly the
    rows of int_account_as_of_dates), docs: metric_clv.

    clv = mrr x gross margin (var gross_margin, default 0.8) / the mean monthly
    logo churn rate of the account's value tier over the trailing 12 months, the
    complete calendar months ending on or before D, that rate floored at
    var clv_min_churn_rate (default 0.005, i.e. 0.5 %). Never missing: 0 when
    mrr = 0. With no tier history yet the floor applies.
-#}

{%- set gross_margin = var('gross_margin', 0.8) -%}
{%- set min_churn_rate = var('clv_min_churn_rate', 0.005) -%}

with subscription_metrics as (

    select * from {{ ref('int_subscription_metrics') }}
    {{ health_dates_from(recompute_from) }}

),

as_of_dates as (

    select * from {{ ref('int_as_of_dates') }}
    {{ health_dates_from(recompute_from) }}

),

tier_churn_rates as (

    select * from {{ ref('int_clv_tier_churn_rates') }}

),

-- the 12 complete months ending on or before D start at or after this month
windows as (

    select
        as_of_date,
        cast(
            {{ dbt.date_trunc('month', dbt.dateadd('day', 1, 'as_of_date')) }} as date
        ) as window_end_month
    from as_of_dates

),

trailing_tier_rates as (

    select
        windows.as_of_date,
        tier_churn_rates.value_tier,
        avg(tier_churn_rates.logo_churn_rate) as mean_logo_churn_rate
    from windows
    inner join tier_churn_rates
        on
            windows.window_end_month > tier_churn_rates.month
            and cast({{ dbt.dateadd('month', -12, 'windows.window_end_month') }} as date) <= tier_churn_rates.month
    group by
        windows.as_of_date,
        tier_churn_rates.value_tier

),

rated as (

    select
        subscription_metrics.account_id,
        subscription_metrics.as_of_date,
        subscription_metrics.is_latest,
        subscription_metrics.mrr,
        subscription_metrics.value_tier,
        trailing_tier_rates.mean_logo_churn_rate,
        case
            when subscription_metrics.value_tier is null then null
            when coalesce(trailing_tier_rates.mean_logo_churn_rate, 0) < {{ min_churn_rate }}
                then {{ min_churn_rate }}
            else trailing_tier_rates.mean_logo_churn_rate
        end as clv_churn_rate
    from subscription_metrics
    left join trailing_tier_rates
        on
            subscription_metrics.as_of_date = trailing_tier_rates.as_of_date
            and subscription_metrics.value_tier = trailing_tier_rates.value_tier

),

final as (

    select
        account_id,
        as_of_date,
        is_latest,
        value_tier,
        cast(mean_logo_churn_rate as double precision) as tier_logo_churn_rate_12m,
        cast(clv_churn_rate as double precision) as clv_churn_rate,
        cast(
            case
                when mrr > 0 then mrr * {{ gross_margin }} / clv_churn_rate
                when mrr = 0 then 0
            end as double precision
        ) as clv
    from rated

)

select * from final

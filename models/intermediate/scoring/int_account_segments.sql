{{ config(**health_as_of_incremental()) }}
{%- set recompute_from = health_recompute_from() %}

{#-
    The segments of an account as of each date: its lifecycle stage (thresholds
    from seeds/segment_thresholds.csv) and its value tier (taken from
    int_account_metrics, the tier that CLV uses, so the two cannot disagree).
    The stages, in order of precedence: doc('segment_lifecycle_stage').
-#}

-- depends_on: {{ ref('int_as_of_dates') }}

with metrics as (

    select * from {{ ref('int_account_metrics') }}
    {{ health_dates_from(recompute_from) }}

),

thresholds as (

    select * from {{ ref('segment_thresholds') }}

),

lifecycle_thresholds as (

    select
        max(case when threshold_key = 'onboarding_days' then threshold_value end) as onboarding_days,
        max(case when threshold_key = 'dormant_days' then threshold_value end) as dormant_days
    from thresholds

),

classified as (

    select
        metrics.account_id,
        metrics.as_of_date,
        metrics.is_latest,
        coalesce(metrics.is_customer, false) as is_customer,
        case
            when
                metrics.is_customer
                and {{ dbt.datediff('metrics.first_paid_date', 'metrics.as_of_date', 'day') }}
                < lifecycle_thresholds.onboarding_days
                then 'onboarding'
            when
                metrics.is_customer
                and coalesce(metrics.days_since_last_use >= lifecycle_thresholds.dormant_days, true)
                then 'dormant'
            when metrics.is_customer then 'active'
            when metrics.was_customer then 'churned'
            else 'prospect'
        end as lifecycle_stage,
        metrics.value_tier,
        metrics.mrr
    from metrics
    cross join lifecycle_thresholds

),

final as (

    select
        account_id,
        as_of_date,
        is_latest,
        is_customer,
        lifecycle_stage,
        value_tier,
        mrr
    from classified

)

select * from final

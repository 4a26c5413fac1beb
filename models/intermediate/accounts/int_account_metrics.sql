{{ config(**health_as_of_incremental()) }}
{%- set recompute_from = health_recompute_from() %}

{#-
    Every account metric of the health model, one row per account and as-of
    date: the metric families joined on their shared grain. Each family owns its
    definitions and "missing when" rules (models/intermediate/<family>/); this
    model only puts them side by side for the scoring and the marts.
-#}

-- depends_on: {{ ref('int_as_of_dates') }}

with spine as (

    select * from {{ ref('int_account_as_of_dates') }}
    {{ health_dates_from(recompute_from) }}

),

subscriptions as (

    select * from {{ ref('int_subscription_metrics') }}
    {{ health_dates_from(recompute_from) }}

),

clv as (

    select * from {{ ref('int_clv_metrics') }}
    {{ health_dates_from(recompute_from) }}

),

support as (

    select * from {{ ref('int_support_metrics') }}
    {{ health_dates_from(recompute_from) }}

),

surveys as (

    select * from {{ ref('int_survey_metrics') }}
    {{ health_dates_from(recompute_from) }}

),

feedback as (

    select * from {{ ref('int_feedback_metrics') }}
    {{ health_dates_from(recompute_from) }}

),

payments as (

    select * from {{ ref('int_payment_metrics') }}
    {{ health_dates_from(recompute_from) }}

),

orders as (

    select * from {{ ref('int_order_metrics') }}
    {{ health_dates_from(recompute_from) }}

),

renewals as (

    select * from {{ ref('int_renewal_metrics') }}
    {{ health_dates_from(recompute_from) }}

),

usage as (

    select * from {{ ref('int_usage_metrics') }}
    {{ health_dates_from(recompute_from) }}

),

onboarding as (

    select * from {{ ref('int_onboarding_metrics') }}
    {{ health_dates_from(recompute_from) }}

),

engagement as (

    select * from {{ ref('int_engagement_metrics') }}
    {{ health_dates_from(recompute_from) }}

),

final as (

    select
        spine.account_id,
        spine.as_of_date,
        spine.is_latest,
        -- subscriptions and value
        subscriptions.mrr,
        subscriptions.seats,
        subscriptions.mrr_change_90d_pct,
        subscriptions.is_customer,
        subscriptions.was_customer,
        subscriptions.first_paid_date,
        subscriptions.value_tier,
        clv.clv,
        -- support
        support.avg_resolution_hours,
        support.first_contact_resolution_rate,
        support.ticket_volume_trend,
        support.urgent_tickets_90d,
        -- voice of the customer
        surveys.nps,
        surveys.csat,
        surveys.last_nps_score,
        surveys.last_nps_responded_at,
        feedback.feedback_sentiment,
        -- money
        payments.late_payment_rate,
        payments.days_past_due,
        orders.orders_365d,
        orders.return_rate,
        orders.revenue_to_date,
        renewals.renewal_win_rate,
        -- product
        usage.active_users_30d,
        usage.seat_utilization,
        usage.stickiness,
        usage.active_days_30d,
        usage.core_feature_adoption,
        usage.usage_trend,
        usage.days_since_last_use,
        onboarding.onboarding_completion,
        engagement.engagement_points_90d
    from spine
    left join subscriptions
        on spine.account_id = subscriptions.account_id and spine.as_of_date = subscriptions.as_of_date
    left join clv
        on spine.account_id = clv.account_id and spine.as_of_date = clv.as_of_date
    left join support
        on spine.account_id = support.account_id and spine.as_of_date = support.as_of_date
    left join surveys
        on spine.account_id = surveys.account_id and spine.as_of_date = surveys.as_of_date
    left join feedback
        on spine.account_id = feedback.account_id and spine.as_of_date = feedback.as_of_date
    left join payments
        on spine.account_id = payments.account_id and spine.as_of_date = payments.as_of_date
    left join orders
        on spine.account_id = orders.account_id and spine.as_of_date = orders.as_of_date
    left join renewals
        on spine.account_id = renewals.account_id and spine.as_of_date = renewals.as_of_date
    left join usage
        on spine.account_id = usage.account_id and spine.as_of_date = usage.as_of_date
    left join onboarding
        on spine.account_id = onboarding.account_id and spine.as_of_date = onboarding.as_of_date
    left join engagement
        on spine.account_id = engagement.account_id and spine.as_of_date = engagement.as_of_date

)

select * from final

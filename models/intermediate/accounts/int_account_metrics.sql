{#-
    PLACEHOLDER while the metric families are written: the account x as-of grain
    with every metric of the health model as a typed null. Replaced by the join
    of the int_<family>_metrics models.
-#}

with spine as (

    select * from {{ ref('int_account_as_of_dates') }}

),

final as (

    select
        account_id,
        as_of_date,
        is_latest,
        cast(null as double precision) as mrr,
        cast(null as double precision) as seats,
        cast(null as double precision) as mrr_change_90d_pct,
        cast(null as boolean) as is_customer,
        cast(null as boolean) as was_customer,
        cast(null as date) as first_paid_date,
        cast(null as varchar) as value_tier,
        cast(null as double precision) as nps,
        cast(null as double precision) as csat,
        cast(null as double precision) as avg_resolution_hours,
        cast(null as double precision) as first_contact_resolution_rate,
        cast(null as double precision) as ticket_volume_trend,
        cast(null as double precision) as urgent_tickets_90d,
        cast(null as double precision) as late_payment_rate,
        cast(null as double precision) as days_past_due,
        cast(null as double precision) as renewal_win_rate,
        cast(null as double precision) as active_users_30d,
        cast(null as double precision) as seat_utilization,
        cast(null as double precision) as stickiness,
        cast(null as double precision) as active_days_30d,
        cast(null as double precision) as core_feature_adoption,
        cast(null as double precision) as usage_trend,
        cast(null as double precision) as days_since_last_use,
        cast(null as double precision) as onboarding_completion,
        cast(null as double precision) as engagement_points_90d,
        cast(null as double precision) as feedback_sentiment,
        cast(null as double precision) as orders_365d,
        cast(null as double precision) as return_rate,
        cast(null as double precision) as revenue_to_date,
        cast(null as double precision) as clv,
        cast(null as double precision) as last_nps_score,
        cast(null as timestamp) as last_nps_responded_at
    from spine

)

select * from final

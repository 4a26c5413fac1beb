{#-
    One row per account as of the latest date: who it is, its segments, its health
    and why (the two factors pulling the score down most and up most), and every
    account metric. Identity (name, industry, country, size, owner) comes from dim_accounts.
-#}

{%- set metric_columns = [
    ('mrr', "double precision"),
    ('seats', 'bigint'),
    ('mrr_change_90d_pct', "double precision"),
    ('nps', "double precision"),
    ('csat', "double precision"),
    ('avg_resolution_hours', "double precision"),
    ('first_contact_resolution_rate', "double precision"),
    ('ticket_volume_trend', "double precision"),
    ('urgent_tickets_90d', 'integer'),
    ('late_payment_rate', "double precision"),
    ('days_past_due', 'integer'),
    ('renewal_win_rate', "double precision"),
    ('active_users_30d', 'integer'),
    ('seat_utilization', "double precision"),
    ('stickiness', "double precision"),
    ('active_days_30d', 'integer'),
    ('core_feature_adoption', "double precision"),
    ('usage_trend', "double precision"),
    ('days_since_last_use', 'integer'),
    ('onboarding_completion', "double precision"),
    ('engagement_points_90d', "double precision"),
    ('feedback_sentiment', "double precision"),
    ('orders_365d', 'integer'),
    ('return_rate', "double precision"),
    ('revenue_to_date', "double precision"),
    ('clv', "double precision"),
    ('last_nps_score', 'integer'),
] -%}

with history as (

    select * from {{ ref('fct_health_history') }}

),

health_factors as (

    select * from {{ ref('fct_health_factors') }}

),

metrics as (

    select * from {{ ref('int_account_metrics') }}

),

accounts as (

    select * from {{ ref('dim_accounts') }}

),

as_of_dates as (

    select * from {{ ref('int_as_of_dates') }}

),

latest_date as (

    select as_of_date
    from as_of_dates
    where is_latest

),

current_health as (

    select
        history.account_id,
        history.as_of_date,
        history.lifecycle_stage,
        history.value_tier,
        history.is_customer,
        history.weight_set,
        history.health_score,
        history.grade,
        history.colour,
        history.score_coverage,
        history.is_graded,
        history.score_change_30d
    from history
    inner join latest_date
        on history.as_of_date = latest_date.as_of_date

),

current_metrics as (

    select
        account_id,
        first_paid_date,
        last_nps_responded_at,
    {% for metric, data_type in metric_columns %}
        {{ metric }}{{ ',' if not loop.last }}
    {% endfor %}
    from metrics
    where is_latest

),

ranked_factors as (

    select
        health_factors.account_id,
        health_factors.factor_key,
        health_factors.pull,
        row_number() over (
            partition by health_factors.account_id
            order by health_factors.pull asc, health_factors.factor_key asc
        ) as down_rank,
        row_number() over (
            partition by health_factors.account_id
            order by health_factors.pull desc, health_factors.factor_key asc
        ) as up_rank
    from health_factors
    inner join latest_date
        on health_factors.as_of_date = latest_date.as_of_date
    where not health_factors.is_missing

),

top_factors as (

    select
        account_id,
        max(case when down_rank = 1 and pull < 0 then factor_key end) as pull_down_factor_1,
        max(case when down_rank = 1 and pull < 0 then pull end) as pull_down_points_1,
        max(case when down_rank = 2 and pull < 0 then factor_key end) as pull_down_factor_2,
        max(case when down_rank = 2 and pull < 0 then pull end) as pull_down_points_2,
        max(case when up_rank = 1 and pull > 0 then factor_key end) as pull_up_factor_1,
        max(case when up_rank = 1 and pull > 0 then pull end) as pull_up_points_1,
        max(case when up_rank = 2 and pull > 0 then factor_key end) as pull_up_factor_2,
        max(case when up_rank = 2 and pull > 0 then pull end) as pull_up_points_2
    from ranked_factors
    group by account_id

),

final as (

    select
        current_health.account_id,
        accounts.account_name,
        accounts.industry,
        accounts.country_code,
        cast(accounts.employee_count as bigint) as employee_count,
        accounts.csm_owner,
        accounts.created_at as account_created_at,
        current_health.as_of_date,
        current_health.lifecycle_stage,
        current_health.value_tier,
        current_health.is_customer,
        current_metrics.first_paid_date,
        cast(current_health.health_score as double precision) as health_score,
        current_health.grade,
        current_health.colour,
        cast(current_health.score_coverage as double precision) as score_coverage,
        current_health.is_graded,
        cast(current_health.score_change_30d as double precision) as score_change_30d,
        current_health.weight_set,
        top_factors.pull_down_factor_1,
        cast(top_factors.pull_down_points_1 as double precision) as pull_down_points_1,
        top_factors.pull_down_factor_2,
        cast(top_factors.pull_down_points_2 as double precision) as pull_down_points_2,
        top_factors.pull_up_factor_1,
        cast(top_factors.pull_up_points_1 as double precision) as pull_up_points_1,
        top_factors.pull_up_factor_2,
        cast(top_factors.pull_up_points_2 as double precision) as pull_up_points_2,
        {% for metric, data_type in metric_columns %}
            cast(current_metrics.{{ metric }} as {{ data_type }}) as {{ metric }},
        {% endfor %}
        current_metrics.last_nps_responded_at
    from current_health
    left join accounts
        on current_health.account_id = accounts.account_id
    left join current_metrics
        on current_health.account_id = current_metrics.account_id
    left join top_factors
        on current_health.account_id = top_factors.account_id

)

select * from final

{#-
    The long form of the account metrics, with the weights that apply: one row per
    account, as-of date and factor of seeds/health_factors.csv, with the metric's
    value (null when the metric is missing), the weight set of the account on the
    date (its lifecycle segment's own weights when that segment has rows in force,
    else `default`), the factor's weight in that set (null when it has none or 0)
    and the weight of the set's factors that are present for the account and date.

    `scorable_metrics` is THE list of account metrics a factor may name, declared
    once: every numeric metric of the health model. Making another of them a factor
    is one line in health_factors.csv (tests/scoring/assert_factor_keys_are_scorable_metrics.sql
    checks every factor key is a column of int_account_metrics).

    Everything that needs all the factors of an account at once (the weight set,
    the weight present) is computed on the wide row before the unpivot: no
    aggregate over the long form is needed to re-weight.
-#}

{%- set scorable_metrics = [
    'mrr', 'seats', 'mrr_change_90d_pct',
    'nps', 'csat', 'avg_resolution_hours', 'first_contact_resolution_rate',
    'ticket_volume_trend', 'urgent_tickets_90d', 'late_payment_rate', 'days_past_due',
    'renewal_win_rate', 'active_users_30d', 'seat_utilization', 'stickiness',
    'active_days_30d', 'core_feature_adoption', 'usage_trend', 'days_since_last_use',
    'onboarding_completion', 'engagement_points_90d', 'feedback_sentiment',
    'orders_365d', 'return_rate', 'revenue_to_date', 'clv',
] -%}

with metrics as (

    select * from {{ ref('int_account_metrics') }}

),

segments as (

    select * from {{ ref('int_account_segments') }}

),

factors as (

    select * from {{ ref('health_factors') }}

),

weight_sets as (

    select * from {{ ref('int_health_weight_sets') }}

),

segment_sets as (

    -- the segments that have weights of their own on a date
    select distinct
        as_of_date,
        weight_set
    from weight_sets
    where weight_set <> 'default'

),

set_weights as (

    -- one row per date and weight set, a column per metric: its weight (null when none or 0)
    select
        weight_sets.as_of_date,
        weight_sets.weight_set,
        max(weight_sets.weights_version) as weights_version,
    {% for metric in scorable_metrics %}
        max(
            case when factors.factor_key = '{{ metric }}' and weight_sets.weight > 0 then weight_sets.weight end
        ) as {{ metric }}__weight{{ ',' if not loop.last }}
    {% endfor %}
    from weight_sets
    inner join factors
        on weight_sets.factor_key = factors.factor_key
    group by
        weight_sets.as_of_date,
        weight_sets.weight_set

),

account_weights as (

    select
        segments.account_id,
        segments.as_of_date,
        segments.lifecycle_stage,
        coalesce(segment_sets.weight_set, 'default') as weight_set
    from segments
    left join segment_sets
        on
            segments.as_of_date = segment_sets.as_of_date
            and segments.lifecycle_stage = segment_sets.weight_set

),

-- materialized: joined once on the wide rows, before the unpivot multiplies them
weighted_accounts as materialized (

    select
        account_weights.account_id,
        account_weights.as_of_date,
        account_weights.lifecycle_stage,
        account_weights.weight_set,
        set_weights.weights_version,
        {% for metric in scorable_metrics %}
            metrics.{{ metric }},
            set_weights.{{ metric }}__weight,
        {% endfor %}
        0
        {% for metric in scorable_metrics %}
            + case when metrics.{{ metric }} is not null then coalesce(set_weights.{{ metric }}__weight, 0) else 0 end
        {% endfor %} as weight_present
    from metrics
    inner join account_weights
        on
            metrics.account_id = account_weights.account_id
            and metrics.as_of_date = account_weights.as_of_date
    left join set_weights
        on
            account_weights.as_of_date = set_weights.as_of_date
            and account_weights.weight_set = set_weights.weight_set

),

unpivoted as (

    select
        weighted_accounts.account_id,
        weighted_accounts.as_of_date,
        weighted_accounts.lifecycle_stage,
        weighted_accounts.weight_set,
        weighted_accounts.weights_version,
        factors.factor_key,
        cast(
            case factors.factor_key
                {% for metric in scorable_metrics %}
                    when '{{ metric }}' then weighted_accounts.{{ metric }}
                {% endfor %}
            end as double precision
        ) as metric_value,
        cast(
            case factors.factor_key
                {% for metric in scorable_metrics %}
                    when '{{ metric }}' then weighted_accounts.{{ metric }}__weight
                {% endfor %}
            end as double precision
        ) as weight,
        cast(weighted_accounts.weight_present as double precision) as weight_present
    from weighted_accounts
    cross join factors

),

final as (

    select
        account_id,
        as_of_date,
        lifecycle_stage,
        weight_set,
        weights_version,
        factor_key,
        metric_value,
        weight,
        weight_present
    from unpivoted

)

select * from final

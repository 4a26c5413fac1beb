{{ config(**health_as_of_incremental(upstream='int_health_backtest_population')) }}
{%- set recompute_from = health_recompute_from() %}

{#-
    What each predictor said about each customer of the backtest, oriented so that
    a higher value means healthier: the health score, and the metric of every
    factor of seeds/health_factors.csv (weighted or not: a candidate factor gets an
    AUC too), negated when lower is better (target below floor).
    Incremental: the backtest dates int_health_backtest_population recomputed.
-#}

with population as (

    select * from {{ ref('int_health_backtest_population') }}
    {{ health_dates_from(recompute_from) }}

),

factor_values as (

    select * from {{ ref('int_health_factor_values') }}
    {{ health_dates_from(recompute_from) }}

),

factors as (

    select * from {{ ref('health_factors') }}

),

score_predictions as (

    select
        as_of_date,
        'health_score' as predictor,
        account_id,
        health_score as predictor_value,
        is_churner
    from population
    where health_score is not null

),

factor_predictions as (

    select
        population.as_of_date,
        factor_values.factor_key as predictor,
        population.account_id,
        case
            when factors.target > factors.floor then factor_values.metric_value
            else -1 * factor_values.metric_value
        end as predictor_value,
        population.is_churner
    from population
    inner join factor_values
        on
            population.account_id = factor_values.account_id
            and population.as_of_date = factor_values.as_of_date
    inner join factors
        on factor_values.factor_key = factors.factor_key
    where factor_values.metric_value is not null

),

final as (

    select * from score_predictions
    union all
    select * from factor_predictions

)

select * from final

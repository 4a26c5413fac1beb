{{ config(**health_as_of_incremental(upstream='int_health_backtest_predictions')) }}
{%- set recompute_from = health_recompute_from() %}

{#-
    The AUC of each predictor as a churn predictor on each backtest date, rank-based
    (Mann-Whitney U with average ranks for ties), low value = risk:
    AUC = (sum of the churners' ranks - n1 (n1 + 1) / 2) / (n1 x n0), ranks counted
    from the healthiest (rank 1), n1 churners, n0 other customers. It is the chance
    that a churner looks less healthy than a customer who stayed, ties counting
    half: 0.5 is no better than chance. Null without churners or without stayers.
    A table (a few rows): two marts and its tests read it, the predictions are ranked once;
    incremental: a run ranks the backtest dates int_health_backtest_predictions recomputed.
-#}

with predictions as (

    select * from {{ ref('int_health_backtest_predictions') }}
    {{ health_dates_from(recompute_from) }}

),

ranked as (

    select
        as_of_date,
        predictor,
        is_churner,
        rank() over (
            partition by as_of_date, predictor
            order by predictor_value desc
        ) as rank_from_healthiest,
        count(*) over (
            partition by as_of_date, predictor, predictor_value
        ) as tie_size
    from predictions

),

rank_sums as (

    select
        as_of_date,
        predictor,
        count(*) as customers,
        sum(case when is_churner then 1 else 0 end) as churners,
        sum(
            case when is_churner then rank_from_healthiest + (tie_size - 1) / 2.0 else 0 end
        ) as churner_rank_sum
    from ranked
    group by
        as_of_date,
        predictor

),

final as (

    select
        as_of_date,
        predictor,
        cast(customers as integer) as customers,
        cast(churners as integer) as churners,
        cast(
            case
                when churners > 0 and customers > churners
                    then
                        (churner_rank_sum - churners * (churners + 1) / 2.0)
                        / (1.0 * churners * (customers - churners))
            end as double precision
        ) as auc
    from rank_sums

)

select * from final

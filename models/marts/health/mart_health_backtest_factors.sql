{#-
    The score against each single factor: one row per backtest date and factor of
    seeds/health_factors.csv, the AUC of the factor's metric as a churn predictor
    (lower = risk when higher is better, and the reverse), the customers and
    churners it rests on (those with the metric present), beside the AUC of the
    health score on the same date (doc('health_backtest')).
-#}

with auc as (

    select * from {{ ref('int_health_backtest_auc') }}

),

factors as (

    select * from {{ ref('health_factors') }}

),

weight_sets as (

    select * from {{ ref('int_health_weight_sets') }}

),

score_auc as (

    select
        as_of_date,
        auc
    from auc
    where predictor = 'health_score'

),

default_weights as (

    select
        as_of_date,
        factor_key,
        weight
    from weight_sets
    where weight_set = 'default'

),

final as (

    select
        auc.as_of_date,
        factors.factor_key,
        factors.factor_group,
        factors.target > factors.floor as is_higher_better,
        cast(default_weights.weight as double precision) as default_weight,
        cast(auc.auc as double precision) as metric_auc,
        auc.customers,
        auc.churners,
        cast(score_auc.auc as double precision) as score_auc,
        cast(auc.auc - score_auc.auc as double precision) as auc_minus_score_auc
    from auc
    inner join factors
        on auc.predictor = factors.factor_key
    left join score_auc
        on auc.as_of_date = score_auc.as_of_date
    left join default_weights
        on
            auc.as_of_date = default_weights.as_of_date
            and auc.predictor = default_weights.factor_key

)

select * from final

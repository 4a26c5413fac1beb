{#-
    Which predicts churn best: the health score or a single metric? The AUC of
    each factor's metric averaged over the backtest dates, beside the score's on
    the same dates, and on how many dates the metric beat the score. Run with
    `dbt compile -s health_backtest_summary` and read the SQL in target/.
-#}

with backtest_factors as (

    select * from {{ ref('mart_health_backtest_factors') }}

),

final as (

    select
        factor_key,
        factor_group,
        max(default_weight) as default_weight,
        count(metric_auc) as dates_with_auc,
        avg(metric_auc) as mean_metric_auc,
        avg(case when metric_auc is not null then score_auc end) as mean_score_auc_same_dates,
        sum(case when metric_auc > score_auc then 1 else 0 end) as dates_metric_beats_score,
        avg(customers) as mean_customers,
        avg(churners) as mean_churners
    from backtest_factors
    group by
        factor_key,
        factor_group

)

select * from final
order by mean_metric_auc desc

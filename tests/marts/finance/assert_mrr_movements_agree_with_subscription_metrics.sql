{#-
    fct_mrr_movements reads MRR on the same days, with the same coverage and exchange
    rates, as int_subscription_metrics: wherever a month's mrr_date is an as-of date
    (always the latest date; every month end with the monthly cadence), the two agree
    account by account, on the dates this run wrote into int_subscription_metrics
    (health_test_relation). Returns the disagreements.
    Older dates are not compared after a daily run: fct_mrr_movements is rebuilt
    whole, so a billing correction older than the look-back reaches it at once but
    reaches the metrics only with --full-refresh or health_rescore_from (D31).
-#}

with movements as (

    select * from {{ ref('fct_mrr_movements') }}

),

subscription_metrics as (

    select subscription_metrics.*
    from {{ health_test_relation(ref('int_subscription_metrics')) }} as subscription_metrics

),

mrr_dates as (

    select distinct mrr_date from movements

),

final as (

    select
        subscription_metrics.account_id,
        subscription_metrics.as_of_date,
        subscription_metrics.mrr as account_mrr,
        coalesce(movements.mrr, 0) as movement_mrr
    from subscription_metrics
    inner join mrr_dates
        on subscription_metrics.as_of_date = mrr_dates.mrr_date
    left join movements
        on
            subscription_metrics.account_id = movements.account_id
            and subscription_metrics.as_of_date = movements.mrr_date
    where abs(subscription_metrics.mrr - coalesce(movements.mrr, 0)) >= 0.005

)

select * from final

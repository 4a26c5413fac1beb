{#-
    The monthly logo churn rate of each value tier (docs: metric_tier_logo_churn_rate):
    churned customers of the tier in month M / customers of the tier at the start
    of M (= at the end of M - 1), the tier read at the start of M from that
    day's MRR. Built from int_mrr_movements, the rows fct_mrr_movements
    publishes. A tier with no customer at the start of a month has no row.
-#}

with movements as (

    select * from {{ ref('int_mrr_movements') }}

),

segment_thresholds as (

    select * from {{ ref('segment_thresholds') }}

),

tier_thresholds as (

    select
        max(
            case when threshold_key = 'enterprise_min_mrr' then threshold_value end
        ) as enterprise_min_mrr,
        max(
            case when threshold_key = 'mid_market_min_mrr' then threshold_value end
        ) as mid_market_min_mrr
    from segment_thresholds

),

-- the customers at the start of each month, with their tier on that day
customers_at_start as (

    select
        movements.month,
        movements.is_partial_month,
        movements.movement_type,
        case
            when movements.previous_mrr >= tier_thresholds.enterprise_min_mrr then 'enterprise'
            when movements.previous_mrr >= tier_thresholds.mid_market_min_mrr then 'mid_market'
            else 'smb'
        end as value_tier
    from movements
    cross join tier_thresholds
    where movements.previous_mrr > 0

),

final as (

    select
        month,
        cast(
            {{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, 'month')) }} as date
        ) as month_end_date,
        is_partial_month,
        value_tier,
        count(*) as customers_at_start,
        count(case when movement_type = 'churn' then 1 end) as churned_customers,
        cast(
            count(case when movement_type = 'churn' then 1 end) as double precision
        ) / count(*) as logo_churn_rate
    from customers_at_start
    group by
        month,
        is_partial_month,
        value_tier

)

select * from final

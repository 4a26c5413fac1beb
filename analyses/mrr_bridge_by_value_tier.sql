{#-
    The monthly MRR bridge split by value tier (the tier of the account at the start of
    the month, from previous_mrr; new and reactivated accounts by their MRR at the end),
    with gross and net revenue retention per tier: do big customers retain better?
-#}

with movements as (

    select * from {{ ref('fct_mrr_movements') }}

),

segment_thresholds as (

    select * from {{ ref('segment_thresholds') }}

),

tier_thresholds as (

    select
        max(case when threshold_key = 'enterprise_min_mrr' then threshold_value end) as enterprise_min_mrr,
        max(case when threshold_key = 'mid_market_min_mrr' then threshold_value end) as mid_market_min_mrr
    from segment_thresholds

),

-- the tier at the start of the month; for new and reactivated accounts, at the end
tier_basis as (

    select
        month,
        movement_type,
        movement_amount,
        previous_mrr,
        mrr,
        case when previous_mrr > 0 then previous_mrr else mrr end as tier_mrr
    from movements

),

tiered as (

    select
        tier_basis.month,
        tier_basis.movement_type,
        tier_basis.movement_amount,
        tier_basis.previous_mrr,
        tier_basis.mrr,
        case
            when tier_basis.tier_mrr >= tier_thresholds.enterprise_min_mrr then 'enterprise'
            when tier_basis.tier_mrr >= tier_thresholds.mid_market_min_mrr then 'mid_market'
            when tier_basis.tier_mrr > 0 then 'smb'
        end as value_tier
    from tier_basis
    cross join tier_thresholds

),

final as (

    select
        month,
        value_tier,
        sum(previous_mrr) as mrr_start,
        sum(mrr) as mrr_end,
        sum(case when movement_type = 'new' then movement_amount else 0 end) as new_mrr,
        sum(case when movement_type = 'expansion' then movement_amount else 0 end) as expansion_mrr,
        sum(case when movement_type = 'contraction' then -movement_amount else 0 end) as contraction_mrr,
        sum(case when movement_type = 'churn' then -movement_amount else 0 end) as churned_mrr,
        sum(case when movement_type = 'reactivation' then movement_amount else 0 end) as reactivation_mrr,
        100.0 * (
            sum(previous_mrr)
            + sum(case when movement_type in ('churn', 'contraction') then movement_amount else 0 end)
        ) / nullif(sum(previous_mrr), 0) as gross_revenue_retention,
        100.0 * (
            sum(previous_mrr)
            + sum(case when movement_type in ('churn', 'contraction', 'expansion') then movement_amount else 0 end)
        ) / nullif(sum(previous_mrr), 0) as net_revenue_retention
    from tiered
    where value_tier is not null
    group by
        month,
        value_tier

)

select * from final
order by month, value_tier

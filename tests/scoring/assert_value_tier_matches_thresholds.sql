{#- The value tier of int_account_segments (taken from int_account_metrics, where CLV
    uses it) is the one seeds/segment_thresholds.csv gives for the MRR of the date:
    enterprise >= enterprise_min_mrr, mid_market >= mid_market_min_mrr, smb above 0,
    none (null) otherwise. -#}

with segments as (

    select * from {{ ref('int_account_segments') }}

),

thresholds as (

    select * from {{ ref('segment_thresholds') }}

),

tier_thresholds as (

    select
        max(case when threshold_key = 'enterprise_min_mrr' then threshold_value end) as enterprise_min_mrr,
        max(case when threshold_key = 'mid_market_min_mrr' then threshold_value end) as mid_market_min_mrr
    from thresholds

),

expected as (

    select
        segments.account_id,
        segments.as_of_date,
        segments.mrr,
        segments.value_tier,
        case
            when segments.mrr >= tier_thresholds.enterprise_min_mrr then 'enterprise'
            when segments.mrr >= tier_thresholds.mid_market_min_mrr then 'mid_market'
            when segments.mrr > 0 then 'smb'
        end as expected_value_tier
    from segments
    cross join tier_thresholds

),

final as (

    select
        account_id,
        as_of_date,
        mrr,
        value_tier,
        expected_value_tier
    from expected
    where coalesce(value_tier, 'none') <> coalesce(expected_value_tier, 'none')

)

select * from final

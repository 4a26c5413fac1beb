{#-
    Churned MRR by cancel reason, per month: for each churn in fct_mrr_movements, the
    cancel_reason of the account's subscription periods that ended in the churn month
    (on or before the day the month's MRR is read, after the previous month's end). An
    account whose ending periods carry several reasons is counted under the reason of
    its largest ending period; no reason recorded is 'unknown'.
-#}

with movements as (

    select * from {{ ref('fct_mrr_movements') }}

),

periods as (

    select * from {{ ref('stg_billing__subscription_periods') }}

),

churns as (

    select
        month,
        account_id,
        mrr_date,
        -movement_amount as churned_mrr
    from movements
    where movement_type = 'churn'

),

ending_periods as (

    select
        churns.month,
        churns.account_id,
        coalesce(periods.cancel_reason, 'unknown') as cancel_reason,
        row_number() over (
            partition by churns.month, churns.account_id
            order by
                case when periods.cancel_reason is null then 1 else 0 end asc,
                periods.mrr desc,
                periods.period_id asc
        ) as reason_rank
    from churns
    inner join periods
        on
            churns.account_id = periods.account_id
            and churns.month <= periods.period_end
            and churns.mrr_date >= periods.period_end

),

churn_reasons as (

    select
        churns.month,
        churns.account_id,
        churns.churned_mrr,
        coalesce(ending_periods.cancel_reason, 'unknown') as cancel_reason
    from churns
    left join ending_periods
        on
            churns.month = ending_periods.month
            and churns.account_id = ending_periods.account_id
            and ending_periods.reason_rank = 1

),

final as (

    select
        month,
        cancel_reason,
        count(*) as churned_accounts,
        sum(churned_mrr) as churned_mrr,
        100.0 * sum(churned_mrr) / sum(sum(churned_mrr)) over (partition by month) as share_of_churned_mrr_pct
    from churn_reasons
    group by
        month,
        cancel_reason

)

select * from final
order by month asc, churned_mrr desc

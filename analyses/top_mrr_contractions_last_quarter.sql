{#-
    The accounts whose MRR contracted most over the last quarter: the three months
    ending with the month of the latest as-of date. Contraction is summed over the
    months classified 'contraction' (constant currency, so exchange rates do not
    count); the MRR three months ago and now put it in proportion. Accounts that
    churned are not here (see churned_mrr_by_cancel_reason).
-#}

with movements as (

    select * from {{ ref('fct_mrr_movements') }}

),

accounts as (

    select * from {{ ref('dim_accounts') }}

),

quarter as (

    select
        max(month) as last_month,
        cast({{ dbt.dateadd('month', -2, 'max(month)') }} as date) as first_month
    from movements

),

quarter_movements as (

    select
        movements.account_id,
        movements.month,
        movements.previous_mrr,
        movements.mrr,
        movements.movement_type,
        movements.movement_amount,
        quarter.first_month,
        quarter.last_month
    from movements
    cross join quarter
    where movements.month between quarter.first_month and quarter.last_month

),

per_account as (

    select
        account_id,
        sum(case when movement_type = 'contraction' then -movement_amount else 0 end) as contracted_mrr,
        sum(case when movement_type = 'expansion' then movement_amount else 0 end) as expanded_mrr,
        max(case when month = first_month then previous_mrr end) as mrr_quarter_start,
        max(case when month = last_month then mrr end) as mrr_now
    from quarter_movements
    group by account_id

),

final as (

    select
        per_account.account_id,
        accounts.account_name,
        accounts.csm_owner,
        accounts.value_tier,
        per_account.contracted_mrr,
        per_account.expanded_mrr,
        per_account.mrr_quarter_start,
        per_account.mrr_now,
        100.0 * (per_account.mrr_now - per_account.mrr_quarter_start)
        / nullif(per_account.mrr_quarter_start, 0) as mrr_change_pct
    from per_account
    left join accounts
        on per_account.account_id = accounts.account_id
    where per_account.contracted_mrr > 0

)

select * from final
order by contracted_mrr desc, account_id asc
limit 25

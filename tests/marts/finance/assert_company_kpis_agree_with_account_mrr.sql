{#-
    The company KPIs and the account metrics cannot disagree:
    1. each month starts where the previous one ended (mrr_start, customers_start of M =
       mrr_end, customers_end of M - 1);
    2. the month of the latest as-of date ends at the latest account figures: mrr_end =
       sum of int_subscription_metrics.mrr and customers_end = its customers on that date.
    Returns the months that break either rule.
-#}

with kpis as (

    select * from {{ ref('mart_company_kpis') }}

),

subscription_metrics as (

    select * from {{ ref('int_subscription_metrics') }}

),

previous_months as (

    select
        month,
        mrr_start,
        customers_start,
        is_partial_month,
        month_end_date,
        mrr_end,
        customers_end,
        lag(mrr_end) over (order by month) as previous_mrr_end,
        lag(customers_end) over (order by month) as previous_customers_end
    from kpis

),

latest_accounts as (

    select
        as_of_date,
        sum(mrr) as mrr,
        count(case when is_customer then 1 end) as customers
    from subscription_metrics
    where is_latest
    group by as_of_date

),

broken_chain as (

    select
        month,
        'start differs from the previous month''s end' as problem
    from previous_months
    where
        abs(mrr_start - coalesce(previous_mrr_end, 0)) >= 0.01
        or customers_start != coalesce(previous_customers_end, 0)

),

broken_latest as (

    select
        previous_months.month,
        'latest month differs from the latest account metrics' as problem
    from previous_months
    inner join latest_accounts
        on previous_months.month_end_date = latest_accounts.as_of_date
    where
        abs(previous_months.mrr_end - latest_accounts.mrr) >= 0.01
        or previous_months.customers_end != latest_accounts.customers

),

final as (

    select * from broken_chain
    union all
    select * from broken_latest

)

select * from final

{#-
    Published: the company KPIs of the health model, one row per calendar month M
    from the first month with data through the month of the latest as-of date
    (docs: kpi_*). The month of the latest date is read up to that date
    (is_partial_month).

    Customers and MRR come from fct_mrr_movements only, so the two tables cannot
    disagree: mrr_end = mrr_start + new_mrr + expansion_mrr - contraction_mrr
    - churned_mrr + reactivation_mrr + fx_adjustment_mrr (the amounts here are
    positive; in fct_mrr_movements churn and contraction are negative).
    NPS, CSAT, resolution hours and first-contact resolution use the same macros
    as the account metrics.
-#}

{%- set gross_margin = var('gross_margin', 0.8) -%}
{%- set min_churn_rate = var('clv_min_churn_rate', 0.005) -%}

with movements as (

    select * from {{ ref('fct_mrr_movements') }}

),

as_of_dates as (

    select * from {{ ref('int_as_of_dates') }}

),

nps_responses as (

    select * from {{ ref('stg_surveys__nps_responses') }}

),

csat_responses as (

    select * from {{ ref('stg_support__csat_responses') }}

),

tickets as (

    select * from {{ ref('stg_support__tickets') }}

),

opportunities as (

    select * from {{ ref('stg_crm__opportunities') }}

),

orders as (

    select * from {{ ref('stg_billing__orders') }}

),

order_returns as (

    select * from {{ ref('stg_billing__returns') }}

),

exchange_rates as (

    select * from {{ ref('int_exchange_rates') }}

),

latest as (

    select as_of_date as latest_date
    from as_of_dates
    where is_latest

),

nps_in_scope as (

    select
        cast({{ dbt.date_trunc('month', 'nps_responses.responded_at') }} as date) as month,
        nps_responses.score
    from nps_responses
    cross join latest
    where cast(nps_responses.responded_at as date) <= latest.latest_date

),

csat_in_scope as (

    select
        cast({{ dbt.date_trunc('month', 'csat_responses.responded_at') }} as date) as month,
        csat_responses.score
    from csat_responses
    cross join latest
    where cast(csat_responses.responded_at as date) <= latest.latest_date

),

solved_tickets as (

    select
        cast({{ dbt.date_trunc('month', 'tickets.solved_at') }} as date) as month,
        tickets.created_at,
        tickets.solved_at,
        tickets.agent_reply_count,
        tickets.reopen_count
    from tickets
    cross join latest
    where
        tickets.solved_at is not null
        and cast(tickets.solved_at as date) <= latest.latest_date

),

closed_renewals as (

    select
        cast({{ dbt.date_trunc('month', 'opportunities.close_date') }} as date) as month,
        opportunities.stage
    from opportunities
    cross join latest
    where
        opportunities.opportunity_type = 'renewal'
        and opportunities.stage in ('won', 'lost')
        and opportunities.close_date <= latest.latest_date

),

-- orders not cancelled, in the reporting currency at the rate of the order's day
valid_orders as (

    select
        orders.order_id,
        orders.account_id,
        cast(orders.ordered_at as date) as order_date,
        cast(orders.amount as double precision) * exchange_rates.to_reporting_rate as ordered_amount,
        exchange_rates.to_reporting_rate
    from orders
    cross join latest
    left join exchange_rates
        on
            orders.currency = exchange_rates.currency_code
            and cast(orders.ordered_at as date) >= exchange_rates.valid_from
            and cast(orders.ordered_at as date) < exchange_rates.valid_to
    where
        orders.status != 'cancelled'
        and cast(orders.ordered_at as date) <= latest.latest_date

),

-- returns are in the order's currency: converted at the order's rate, so a
-- returned order nets to zero whatever the rate did in between
returned_orders as (

    select
        valid_orders.order_date,
        cast(order_returns.returned_at as date) as return_date,
        cast(order_returns.amount as double precision) * valid_orders.to_reporting_rate as returned_amount
    from order_returns
    inner join valid_orders
        on order_returns.order_id = valid_orders.order_id

),

data_months as (

    select month from movements
    union all
    select month from nps_in_scope
    union all
    select month from csat_in_scope
    union all
    select month from solved_tickets
    union all
    select month from closed_renewals
    union all
    select cast({{ dbt.date_trunc('month', 'order_date') }} as date) as month from valid_orders

),

bounds as (

    select
        min(data_months.month) as first_month,
        latest.latest_date
    from data_months
    cross join latest
    group by latest.latest_date

),

month_numbers as (

    {{ dbt.generate_series(1200) }}

),

calendar_months as (

    select
        cast(
            {{ dbt.dateadd('month', 'month_numbers.generated_number - 1', 'bounds.first_month') }} as date
        ) as month,
        bounds.latest_date
    from bounds
    cross join month_numbers

),

calendar_month_ends as (

    select
        month,
        cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, 'month')) }} as date) as calendar_month_end,
        latest_date
    from calendar_months
    where month <= latest_date

),

months as (

    select
        month,
        case when calendar_month_end > latest_date then latest_date else calendar_month_end end as month_end_date,
        calendar_month_end > latest_date as is_partial_month
    from calendar_month_ends

),

movement_totals as (

    select
        month,
        count(case when previous_mrr > 0 then 1 end) as customers_start,
        count(case when mrr > 0 then 1 end) as customers_end,
        count(case when movement_type = 'new' then 1 end) as new_customers,
        count(case when movement_type = 'churn' then 1 end) as churned_customers,
        count(case when movement_type = 'reactivation' then 1 end) as reactivated_customers,
        sum(previous_mrr) as mrr_start,
        sum(mrr) as mrr_end,
        sum(case when movement_type = 'new' then movement_amount else 0 end) as new_mrr,
        sum(case when movement_type = 'expansion' then movement_amount else 0 end) as expansion_mrr,
        sum(case when movement_type = 'contraction' then -movement_amount else 0 end) as contraction_mrr,
        sum(case when movement_type = 'churn' then -movement_amount else 0 end) as churned_mrr,
        sum(case when movement_type = 'reactivation' then movement_amount else 0 end) as reactivation_mrr,
        sum(fx_adjustment) as fx_adjustment_mrr
    from movements
    group by month

),

nps_totals as (

    select
        month,
        {{ nps('score') }} as nps,
        count(*) as nps_responses
    from nps_in_scope
    group by month

),

csat_totals as (

    select
        month,
        {{ csat('score') }} as csat,
        count(*) as csat_responses
    from csat_in_scope
    group by month

),

ticket_totals as (

    select
        month,
        avg({{ hours_between('created_at', 'solved_at') }}) as avg_resolution_hours,
        {{ first_contact_resolution('agent_reply_count', 'reopen_count') }} as first_contact_resolution_rate,
        count(*) as solved_tickets
    from solved_tickets
    group by month

),

renewal_totals as (

    select
        month,
        count(case when stage = 'won' then 1 end) as renewals_won,
        count(case when stage = 'lost' then 1 end) as renewals_lost
    from closed_renewals
    group by month

),

-- trailing 365 days ending at the month's end (or the latest date)
account_orders_365d as (

    select
        months.month,
        valid_orders.account_id,
        count(*) as orders,
        sum(valid_orders.ordered_amount) as ordered_amount
    from months
    inner join valid_orders
        on
            months.month_end_date >= valid_orders.order_date
            and cast({{ dbt.dateadd('day', -365, 'months.month_end_date') }} as date) < valid_orders.order_date
    group by
        months.month,
        valid_orders.account_id

),

order_totals as (

    select
        month,
        count(*) as ordering_accounts,
        count(case when orders >= 2 then 1 end) as repeat_ordering_accounts,
        sum(ordered_amount) as ordered_amount_365d
    from account_orders_365d
    group by month

),

-- returns of those orders made on or before the window's last day
return_totals as (

    select
        months.month,
        sum(returned_orders.returned_amount) as returned_amount_365d
    from months
    inner join returned_orders
        on
            months.month_end_date >= returned_orders.order_date
            and cast({{ dbt.dateadd('day', -365, 'months.month_end_date') }} as date) < returned_orders.order_date
            and months.month_end_date >= returned_orders.return_date
    group by months.month

),

monthly as (

    select
        months.month,
        months.month_end_date,
        months.is_partial_month,
        coalesce(movement_totals.customers_start, 0) as customers_start,
        coalesce(movement_totals.customers_end, 0) as customers_end,
        coalesce(movement_totals.new_customers, 0) as new_customers,
        coalesce(movement_totals.churned_customers, 0) as churned_customers,
        coalesce(movement_totals.reactivated_customers, 0) as reactivated_customers,
        coalesce(movement_totals.mrr_start, 0) as mrr_start,
        coalesce(movement_totals.mrr_end, 0) as mrr_end,
        coalesce(movement_totals.new_mrr, 0) as new_mrr,
        coalesce(movement_totals.expansion_mrr, 0) as expansion_mrr,
        coalesce(movement_totals.contraction_mrr, 0) as contraction_mrr,
        coalesce(movement_totals.churned_mrr, 0) as churned_mrr,
        coalesce(movement_totals.reactivation_mrr, 0) as reactivation_mrr,
        coalesce(movement_totals.fx_adjustment_mrr, 0) as fx_adjustment_mrr,
        cast(movement_totals.churned_customers as double precision)
        / nullif(movement_totals.customers_start, 0) as logo_churn_fraction,
        nps_totals.nps,
        coalesce(nps_totals.nps_responses, 0) as nps_responses,
        csat_totals.csat,
        coalesce(csat_totals.csat_responses, 0) as csat_responses,
        ticket_totals.avg_resolution_hours,
        ticket_totals.first_contact_resolution_rate,
        coalesce(ticket_totals.solved_tickets, 0) as solved_tickets,
        coalesce(renewal_totals.renewals_won, 0) as renewals_won,
        coalesce(renewal_totals.renewals_lost, 0) as renewals_lost,
        coalesce(order_totals.ordering_accounts, 0) as ordering_accounts_365d,
        coalesce(order_totals.repeat_ordering_accounts, 0) as repeat_ordering_accounts_365d,
        coalesce(order_totals.ordered_amount_365d, 0) as ordered_amount_365d,
        coalesce(return_totals.returned_amount_365d, 0) as returned_amount_365d
    from months
    left join movement_totals
        on months.month = movement_totals.month
    left join nps_totals
        on months.month = nps_totals.month
    left join csat_totals
        on months.month = csat_totals.month
    left join ticket_totals
        on months.month = ticket_totals.month
    left join renewal_totals
        on months.month = renewal_totals.month
    left join order_totals
        on months.month = order_totals.month
    left join return_totals
        on months.month = return_totals.month

),

trailing_churn as (

    select
        month,
        avg(logo_churn_fraction) over (
            order by month
            rows between 11 preceding and current row
        ) as mean_logo_churn_fraction_12m
    from monthly

),

final as (

    select
        monthly.month,
        monthly.month_end_date,
        monthly.is_partial_month,
        monthly.customers_start,
        monthly.customers_end,
        monthly.new_customers,
        monthly.churned_customers,
        monthly.reactivated_customers,
        cast(
            {{ pct('monthly.churned_customers', 'monthly.customers_start') }} as double precision
        ) as logo_churn_rate,
        cast(
            {{ pct(
                'monthly.customers_end - monthly.new_customers - monthly.reactivated_customers',
                'monthly.customers_start'
            ) }} as double precision
        ) as customer_retention_rate,
        cast(monthly.mrr_start as double precision) as mrr_start,
        cast(monthly.mrr_end as double precision) as mrr_end,
        cast(monthly.new_mrr as double precision) as new_mrr,
        cast(monthly.expansion_mrr as double precision) as expansion_mrr,
        cast(monthly.contraction_mrr as double precision) as contraction_mrr,
        cast(monthly.churned_mrr as double precision) as churned_mrr,
        cast(monthly.reactivation_mrr as double precision) as reactivation_mrr,
        cast(monthly.fx_adjustment_mrr as double precision) as fx_adjustment_mrr,
        cast(
            {{ pct('monthly.mrr_start - monthly.churned_mrr - monthly.contraction_mrr', 'monthly.mrr_start') }}
            as double precision
        ) as gross_revenue_retention,
        cast(
            {{ pct(
                'monthly.mrr_start + monthly.expansion_mrr - monthly.contraction_mrr - monthly.churned_mrr',
                'monthly.mrr_start'
            ) }} as double precision
        ) as net_revenue_retention,
        cast(monthly.nps as double precision) as nps,
        monthly.nps_responses,
        cast(monthly.csat as double precision) as csat,
        monthly.csat_responses,
        cast(monthly.avg_resolution_hours as double precision) as avg_resolution_hours,
        cast(monthly.first_contact_resolution_rate as double precision) as first_contact_resolution_rate,
        monthly.solved_tickets,
        cast(
            {{ pct('monthly.renewals_won', 'monthly.renewals_won + monthly.renewals_lost') }} as double precision
        ) as renewal_rate,
        monthly.renewals_won,
        monthly.renewals_lost,
        cast(
            {{ pct('monthly.repeat_ordering_accounts_365d', 'monthly.ordering_accounts_365d') }} as double precision
        ) as repeat_purchase_rate,
        cast(
            {{ pct('monthly.returned_amount_365d', 'monthly.ordered_amount_365d') }} as double precision
        ) as product_return_rate,
        cast(monthly.mrr_end as double precision) / nullif(monthly.customers_end, 0) as arpa,
        cast(100.0 * trailing_churn.mean_logo_churn_fraction_12m as double precision) as mean_logo_churn_rate_12m,
        cast(
            cast(monthly.mrr_end as double precision) / nullif(monthly.customers_end, 0)
            * {{ gross_margin }}
            / case
                when coalesce(trailing_churn.mean_logo_churn_fraction_12m, 0) < {{ min_churn_rate }}
                    then {{ min_churn_rate }}
                else trailing_churn.mean_logo_churn_fraction_12m
            end as double precision
        ) as clv
    from monthly
    inner join trailing_churn
        on monthly.month = trailing_churn.month

)

select * from final

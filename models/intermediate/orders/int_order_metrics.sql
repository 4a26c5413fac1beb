{{ config(**health_as_of_incremental()) }}
{%- set recompute_from = health_recompute_from() %}

{#-
    One-off order, return and revenue metrics of every account as of every
    as-of date (docs: _orders__docs.md). Amounts are converted to the reporting
    currency with int_exchange_rates. Cancelled orders, and the returns of
    cancelled orders, are left out on every date (an order's status is its latest
    and has no date). An order counts as of D when ordered_at is on or before the
    end of D, a return when returned_at is, a paid invoice when paid_at is.
-#}

with spine as (

    select * from {{ ref('int_account_as_of_dates') }}
    {{ health_dates_from(recompute_from) }}

),

as_of_dates as (

    select * from {{ ref('int_as_of_dates') }}
    {{ health_dates_from(recompute_from) }}

),

orders as (

    select * from {{ ref('stg_billing__orders') }}

),

order_returns as (

    select * from {{ ref('stg_billing__returns') }}

),

invoices as (

    select * from {{ ref('stg_billing__invoices') }}

),

exchange_rates as (

    select * from {{ ref('int_exchange_rates') }}

),

windows as (

    select
        as_of_date,
        cast({{ dbt.dateadd('day', -364, 'as_of_date') }} as date) as window_365_start
    from as_of_dates

),

-- Each as-of date with the one before it: the days after the previous as-of date,
-- up to and including this one, are this date's period.
as_of_periods as (

    select
        as_of_date,
        coalesce(
            lag(as_of_date) over (order by as_of_date),
            cast('1900-01-01' as date)
        ) as previous_as_of_date
    from as_of_dates

),

account_first_dates as (

    select
        account_id,
        min(as_of_date) as first_as_of_date
    from spine
    group by account_id

),

kept_orders as (

    select
        order_id,
        account_id,
        currency,
        amount,
        cast(ordered_at as date) as order_date
    from orders
    where status <> 'cancelled'

),

converted_orders as (

    select
        kept_orders.order_id,
        kept_orders.account_id,
        kept_orders.currency,
        kept_orders.order_date,
        exchange_rates.to_reporting_rate as order_rate,
        kept_orders.amount * exchange_rates.to_reporting_rate as ordered_amount
    from kept_orders
    inner join exchange_rates
        on
            kept_orders.currency = exchange_rates.currency_code
            and kept_orders.order_date >= exchange_rates.valid_from
            and kept_orders.order_date < exchange_rates.valid_to

),

-- A return is in its order's currency. It is dated no earlier than its order.
dated_returns as (

    select
        converted_orders.account_id,
        converted_orders.currency,
        converted_orders.order_date,
        greatest(cast(order_returns.returned_at as date), converted_orders.order_date) as return_date,
        order_returns.amount,
        order_returns.amount * converted_orders.order_rate as returned_amount_at_order_rate
    from order_returns
    inner join converted_orders
        on order_returns.order_id = converted_orders.order_id

),

converted_returns as (

    select
        dated_returns.account_id,
        dated_returns.order_date,
        dated_returns.return_date,
        dated_returns.returned_amount_at_order_rate,
        dated_returns.amount * exchange_rates.to_reporting_rate as returned_amount
    from dated_returns
    inner join exchange_rates
        on
            dated_returns.currency = exchange_rates.currency_code
            and dated_returns.return_date >= exchange_rates.valid_from
            and dated_returns.return_date < exchange_rates.valid_to

),

paid_invoices as (

    select
        account_id,
        currency,
        amount_paid,
        coalesce(cast(paid_at as date), due_date) as paid_date
    from invoices
    where status = 'paid'

),

converted_payments as (

    select
        paid_invoices.account_id,
        paid_invoices.paid_date,
        paid_invoices.amount_paid * exchange_rates.to_reporting_rate as paid_amount
    from paid_invoices
    inner join exchange_rates
        on
            paid_invoices.currency = exchange_rates.currency_code
            and paid_invoices.paid_date >= exchange_rates.valid_from
            and paid_invoices.paid_date < exchange_rates.valid_to

),

-- Orders and their returns by order day and day of the event (the order itself on
-- its own day, each return on its day), for the trailing 365-day window.
order_activity as (

    select
        account_id,
        order_date,
        order_date as activity_date,
        1 as orders_placed,
        ordered_amount,
        0 as returned_amount
    from converted_orders

    union all

    select
        account_id,
        order_date,
        return_date as activity_date,
        0 as orders_placed,
        0 as ordered_amount,
        returned_amount_at_order_rate as returned_amount
    from converted_returns

),

order_activity_daily as (

    select
        account_id,
        order_date,
        activity_date,
        sum(orders_placed) as orders_placed,
        sum(ordered_amount) as ordered_amount,
        sum(returned_amount) as returned_amount
    from order_activity
    group by
        account_id,
        order_date,
        activity_date

),

-- Orders placed in the trailing 365 days, and their returns made on or before D.
order_windows as (

    select
        order_activity_daily.account_id,
        windows.as_of_date,
        sum(order_activity_daily.orders_placed) as orders_placed,
        sum(order_activity_daily.ordered_amount) as ordered_amount,
        sum(order_activity_daily.returned_amount) as returned_amount
    from order_activity_daily
    inner join windows
        on
            order_activity_daily.order_date >= windows.window_365_start
            and order_activity_daily.activity_date <= windows.as_of_date
    group by
        order_activity_daily.account_id,
        windows.as_of_date

),

revenue_events as (

    select
        account_id,
        paid_date as revenue_date,
        paid_amount as revenue
    from converted_payments

    union all

    select
        account_id,
        order_date as revenue_date,
        ordered_amount as revenue
    from converted_orders

    union all

    select
        account_id,
        return_date as revenue_date,
        -returned_amount as revenue
    from converted_returns

),

revenue_daily as (

    select
        account_id,
        revenue_date,
        sum(revenue) as revenue
    from revenue_events
    group by
        account_id,
        revenue_date

),

-- Each day's revenue goes to the first as-of date on or after it; revenue dated
-- before an account's first as-of date goes to that first date.
revenue_periods as (

    select
        revenue_daily.account_id,
        greatest(as_of_periods.as_of_date, account_first_dates.first_as_of_date) as as_of_date,
        revenue_daily.revenue
    from revenue_daily
    inner join as_of_periods
        on
            revenue_daily.revenue_date > as_of_periods.previous_as_of_date
            and revenue_daily.revenue_date <= as_of_periods.as_of_date
    inner join account_first_dates
        on revenue_daily.account_id = account_first_dates.account_id

),

revenue_by_as_of_date as (

    select
        account_id,
        as_of_date,
        sum(revenue) as revenue
    from revenue_periods
    group by
        account_id,
        as_of_date

),

revenue_running as (

    select
        spine.account_id,
        spine.as_of_date,
        sum(coalesce(revenue_by_as_of_date.revenue, 0)) over (
            partition by spine.account_id
            order by spine.as_of_date
            rows between unbounded preceding and current row
        ) as revenue_to_date
    from spine
    left join revenue_by_as_of_date
        on
            spine.account_id = revenue_by_as_of_date.account_id
            and spine.as_of_date = revenue_by_as_of_date.as_of_date

),

final as (

    select
        revenue_running.account_id,
        revenue_running.as_of_date,
        cast(coalesce(order_windows.orders_placed, 0) as double precision) as orders_365d,
        cast(
            {{ pct('order_windows.returned_amount', 'order_windows.ordered_amount') }}
            as double precision
        ) as return_rate,
        cast(revenue_running.revenue_to_date as double precision) as revenue_to_date
    from revenue_running
    left join order_windows
        on
            revenue_running.account_id = order_windows.account_id
            and revenue_running.as_of_date = order_windows.as_of_date

)

select * from final

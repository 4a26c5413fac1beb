{{ config(materialized='table') }}

{#-
    The MRR movement of every account in every calendar month, from its first
    month with MRR > 0 through the month of the latest as-of date (docs:
    mrr_movement_types). fct_mrr_movements publishes it; the value-tier churn
    rates (CLV) and the company KPIs are built from the same rows, so they cannot
    disagree.

    MRR of a month is the MRR on its last day; in the month of the latest as-of
    date (still running) it is the MRR on that date (mrr_date). Local amounts
    are summed per currency and converted at mrr_date's rate; previous_mrr is the
    previous month's figure at its own rate (so it equals the previous row's mrr),
    and expansion / contraction / flat are classified and measured in constant
    currency (both months at this month's rate), so a moving exchange rate never
    creates a movement: what it changes is reported in fx_adjustment.
    Materialized as a table: fct_mrr_movements, the CLV tier churn rates (read by
    every int_clv_metrics query) and the tests all read it.
-#}

with periods as (

    select * from {{ ref('stg_billing__subscription_periods') }}

),

as_of_dates as (

    select * from {{ ref('int_as_of_dates') }}

),

exchange_rates as (

    select * from {{ ref('int_exchange_rates') }}

),

latest as (

    select as_of_date as latest_date
    from as_of_dates
    where is_latest

),

bounds as (

    select
        cast({{ dbt.date_trunc('month', 'min(periods.period_start)') }} as date) as first_month,
        latest.latest_date
    from periods
    cross join latest
    where periods.period_start <= latest.latest_date
    group by latest.latest_date

),

month_numbers as (

    {{ dbt.generate_series(1200) }}

),

calendar_months as (

    select
        cast(
            {{ dbt.dateadd('month', 'month_numbers.generated_number - 1', 'bounds.first_month') }} as date
        ) as month_start,
        bounds.latest_date
    from bounds
    cross join month_numbers

),

months as (

    select
        month_start,
        cast({{ dbt.dateadd('day', -1, 'month_start') }} as date) as previous_month_end,
        cast(
            {{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, 'month_start')) }} as date
        ) as calendar_month_end,
        latest_date
    from calendar_months
    where month_start <= latest_date

),

-- the day each month's MRR is read on: its last day, or the latest as-of date
month_days as (

    select
        month_start,
        previous_month_end,
        case
            when calendar_month_end > latest_date then latest_date
            else calendar_month_end
        end as mrr_date,
        calendar_month_end > latest_date as is_partial_month
    from months

),

month_rates as (

    select
        month_days.month_start,
        current_rates.currency_code,
        current_rates.to_reporting_rate,
        previous_rates.to_reporting_rate as previous_to_reporting_rate
    from month_days
    inner join exchange_rates as current_rates
        on
            month_days.mrr_date >= current_rates.valid_from
            and month_days.mrr_date < current_rates.valid_to
    inner join exchange_rates as previous_rates
        on
            current_rates.currency_code = previous_rates.currency_code
            and month_days.previous_month_end >= previous_rates.valid_from
            and month_days.previous_month_end < previous_rates.valid_to

),

-- periods that cover at least one day, as changes: + on period_start, - on
-- period_end, counted in the month they fall in (up to the latest as-of date, the
-- last day any month is read on)
valid_periods as (

    select
        account_id,
        currency,
        mrr,
        period_start,
        period_end
    from periods
    where period_end is null or period_end > period_start

),

changes as (

    select
        valid_periods.account_id,
        valid_periods.currency,
        cast({{ dbt.date_trunc('month', 'valid_periods.period_start') }} as date) as change_month,
        valid_periods.mrr as mrr_change
    from valid_periods
    cross join latest
    where valid_periods.period_start <= latest.latest_date

    union all

    select
        valid_periods.account_id,
        valid_periods.currency,
        cast({{ dbt.date_trunc('month', 'valid_periods.period_end') }} as date) as change_month,
        -valid_periods.mrr as mrr_change
    from valid_periods
    cross join latest
    where valid_periods.period_end <= latest.latest_date

),

monthly_changes as (

    select
        account_id,
        currency,
        change_month,
        sum(mrr_change) as mrr_change
    from changes
    group by
        account_id,
        currency,
        change_month

),

-- spans of months [from_month, to_month) during which the month-end MRR of one
-- currency is constant; local_mrr_before is the month-end MRR of the month before
monthly_spans as (

    select
        account_id,
        currency,
        change_month as from_month,
        lead(change_month) over (
            partition by account_id, currency
            order by change_month
        ) as to_month,
        sum(mrr_change) over (
            partition by account_id, currency
            order by change_month
            rows between unbounded preceding and current row
        ) as local_mrr,
        sum(mrr_change) over (
            partition by account_id, currency
            order by change_month
            rows between unbounded preceding and current row
        ) - mrr_change as local_mrr_before
    from monthly_changes

),

-- the account's first month with MRR > 0 (amounts are never negative, so any
-- currency above 0 makes the total above 0)
first_months as (

    select
        account_id,
        min(from_month) as first_month
    from monthly_spans
    where local_mrr > 0
    group by account_id

),

account_currencies as (

    select
        account_id,
        count(distinct currency) as currencies
    from monthly_spans
    group by account_id

),

account_spans as (

    select
        monthly_spans.account_id,
        monthly_spans.currency,
        monthly_spans.from_month,
        monthly_spans.to_month,
        monthly_spans.local_mrr,
        monthly_spans.local_mrr_before,
        first_months.first_month,
        account_currencies.currencies
    from monthly_spans
    inner join first_months
        on monthly_spans.account_id = first_months.account_id
    inner join account_currencies
        on monthly_spans.account_id = account_currencies.account_id

),

-- local MRR per account, currency and month from the account's first month with
-- MRR > 0 on, with the previous month's
span_months as (

    select
        account_spans.account_id,
        account_spans.currency,
        account_spans.currencies,
        account_spans.first_month,
        month_days.month_start,
        account_spans.local_mrr,
        case
            when month_days.month_start = account_spans.from_month then account_spans.local_mrr_before
            else account_spans.local_mrr
        end as previous_local_mrr
    from account_spans
    inner join month_days
        on
            account_spans.from_month <= month_days.month_start
            and (account_spans.to_month is null or account_spans.to_month > month_days.month_start)
    where month_days.month_start >= account_spans.first_month

),

-- a zero needs no rate; a missing rate for an amount leaves it null (tests fail)
converted as (

    select
        span_months.account_id,
        span_months.month_start,
        span_months.first_month,
        span_months.currencies,
        case
            when span_months.local_mrr = 0 then 0
            else cast(span_months.local_mrr as double precision) * month_rates.to_reporting_rate
        end as mrr,
        case
            when span_months.previous_local_mrr = 0 then 0
            else cast(span_months.previous_local_mrr as double precision) * month_rates.previous_to_reporting_rate
        end as previous_mrr,
        case
            when span_months.local_mrr = span_months.previous_local_mrr then 0
            else
                cast(span_months.local_mrr - span_months.previous_local_mrr as double precision)
                * month_rates.to_reporting_rate
        end as constant_currency_change
    from span_months
    left join month_rates
        on
            span_months.month_start = month_rates.month_start
            and span_months.currency = month_rates.currency_code

),

single_currency as (

    select
        account_id,
        month_start,
        first_month,
        mrr,
        previous_mrr,
        constant_currency_change
    from converted
    where currencies = 1

),

-- accounts billed in several currencies: the currencies add up
multi_currency as (

    select
        account_id,
        month_start,
        first_month,
        case when count(*) = count(mrr) then sum(mrr) end as mrr,
        case when count(*) = count(previous_mrr) then sum(previous_mrr) end as previous_mrr,
        case
            when count(*) = count(constant_currency_change) then sum(constant_currency_change)
        end as constant_currency_change
    from converted
    where currencies > 1
    group by
        account_id,
        month_start,
        first_month

),

account_monthly as (

    select * from single_currency
    union all
    select * from multi_currency

),

with_month_days as (

    select
        account_monthly.account_id,
        account_monthly.month_start,
        account_monthly.first_month,
        month_days.mrr_date,
        month_days.is_partial_month,
        account_monthly.mrr,
        account_monthly.previous_mrr,
        account_monthly.constant_currency_change
    from account_monthly
    inner join month_days
        on account_monthly.month_start = month_days.month_start

),

classified as (

    select
        account_id,
        month_start,
        mrr_date,
        is_partial_month,
        mrr,
        previous_mrr,
        constant_currency_change,
        case
            when month_start = first_month then 'new'
            when previous_mrr > 0 and mrr = 0 then 'churn'
            when previous_mrr = 0 and mrr > 0 then 'reactivation'
            when previous_mrr = 0 and mrr = 0 then 'inactive'
            when constant_currency_change > 0 then 'expansion'
            when constant_currency_change < 0 then 'contraction'
            else 'flat'
        end as movement_type
    from with_month_days

),

final as (

    select
        month_start as month,
        account_id,
        mrr_date,
        is_partial_month,
        mrr,
        previous_mrr,
        movement_type,
        case
            when movement_type in ('new', 'reactivation') then mrr
            when movement_type = 'churn' then -previous_mrr
            when movement_type = 'inactive' then 0
            else constant_currency_change
        end as movement_amount,
        case
            when movement_type in ('expansion', 'contraction', 'flat')
                then mrr - previous_mrr - constant_currency_change
            else 0
        end as fx_adjustment
    from classified

)

select * from final

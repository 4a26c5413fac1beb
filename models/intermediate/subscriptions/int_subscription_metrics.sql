{{ config(**health_as_of_incremental()) }}
{%- set recompute_from = health_recompute_from() %}

{#-
    Subscription metrics of every account as of every as-of date D (exactly the rows
    of int_account_as_of_dates): mrr, seats and mrr_change_90d_pct as the health
    model defines them, plus the customer context other families need.

    A period covers D when period_start <= D < coalesce(period_end, infinity)
    (period_end is exclusive). Periods of one account may overlap (several
    subscriptions): they add up. Amounts are summed per currency in the period's
    currency and converted at the rate of the day measured (D, or D - 90 for the
    90-day change), like fct_mrr_movements does.

    Cost (100k accounts x 104 dates on 2 cores): no per-date work on the periods
    and no join of two account x date tables. Each period becomes +/- changes on
    its first day and on its end (and the same 90 days later, for mrr(D - 90));
    running sums turn them into a few spans per account and currency, from the
    account's first as-of date on, during which the amounts are constant; the spans
    are range-joined once to the as-of dates, which yields the rows of
    int_account_as_of_dates (every as-of date from the account's first one; a test
    checks it). Only the rare accounts billed in several currencies need an
    aggregation per account and date.
    Incremental (doc health_incremental): a run recomputes only its recent as-of dates.
-#}

with account_dates as (

    select * from {{ ref('int_account_as_of_dates') }}
    {{ health_dates_from(recompute_from) }}

),

as_of_dates as (

    select * from {{ ref('int_as_of_dates') }}
    {{ health_dates_from(recompute_from) }}

),

periods as (

    select * from {{ ref('stg_billing__subscription_periods') }}

),

exchange_rates as (

    select * from {{ ref('int_exchange_rates') }}

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

-- the first as-of date of each account: every as-of date from it on is a row
account_starts as (

    select
        account_id,
        min(as_of_date) as first_as_of_date
    from account_dates
    group by account_id

),

-- periods that cover at least one day
valid_periods as (

    select
        account_id,
        currency,
        mrr,
        seats,
        period_start,
        period_end
    from periods
    where period_end is null or period_end > period_start

),

-- the currencies of each account ('none' for an account without periods)
account_currencies as (

    select distinct
        account_starts.account_id,
        account_starts.first_as_of_date,
        coalesce(valid_periods.currency, 'none') as currency
    from account_starts
    left join valid_periods
        on account_starts.account_id = valid_periods.account_id

),

first_paid as (

    select
        account_id,
        min(period_start) as first_paid_date
    from valid_periods
    where mrr > 0
    group by account_id

),

account_info as (

    select
        account_currencies.account_id,
        account_currencies.first_as_of_date,
        first_paid.first_paid_date,
        count(*) as currencies
    from account_currencies
    left join first_paid
        on account_currencies.account_id = first_paid.account_id
    group by
        account_currencies.account_id,
        account_currencies.first_as_of_date,
        first_paid.first_paid_date

),

-- every change of the covering periods: + on period_start, - on period_end; the
-- same 90 days later moves mrr(D - 90); a zero change opens each account's timeline
changes as (

    select
        account_id,
        currency,
        first_as_of_date as change_date,
        cast(0 as decimal(18, 2)) as mrr_change,
        cast(0 as decimal(18, 2)) as prior_mrr_change,
        0 as seats_change,
        0 as seated_periods_change,
        0 as periods_change,
        cast(null as date) as started_on
    from account_currencies

    union all

    select
        account_id,
        currency,
        period_start as change_date,
        mrr as mrr_change,
        cast(0 as decimal(18, 2)) as prior_mrr_change,
        coalesce(seats, 0) as seats_change,
        case when seats is null then 0 else 1 end as seated_periods_change,
        1 as periods_change,
        period_start as started_on
    from valid_periods

    union all

    select
        account_id,
        currency,
        period_end as change_date,
        -mrr as mrr_change,
        cast(0 as decimal(18, 2)) as prior_mrr_change,
        -coalesce(seats, 0) as seats_change,
        case when seats is null then 0 else -1 end as seated_periods_change,
        -1 as periods_change,
        cast(null as date) as started_on
    from valid_periods
    where period_end is not null

    union all

    select
        account_id,
        currency,
        cast({{ dbt.dateadd('day', 90, 'period_start') }} as date) as change_date,
        cast(0 as decimal(18, 2)) as mrr_change,
        mrr as prior_mrr_change,
        0 as seats_change,
        0 as seated_periods_change,
        0 as periods_change,
        cast(null as date) as started_on
    from valid_periods

    union all

    select
        account_id,
        currency,
        cast({{ dbt.dateadd('day', 90, 'period_end') }} as date) as change_date,
        cast(0 as decimal(18, 2)) as mrr_change,
        -mrr as prior_mrr_change,
        0 as seats_change,
        0 as seated_periods_change,
        0 as periods_change,
        cast(null as date) as started_on
    from valid_periods
    where period_end is not null

),

daily_changes as (

    select
        account_id,
        currency,
        change_date,
        sum(mrr_change) as mrr_change,
        sum(prior_mrr_change) as prior_mrr_change,
        sum(seats_change) as seats_change,
        sum(seated_periods_change) as seated_periods_change,
        sum(periods_change) as periods_change,
        max(started_on) as started_on
    from changes
    group by
        account_id,
        currency,
        change_date

),

-- spans [valid_from, valid_to) during which the amounts of one currency are constant
spans as (

    select
        account_id,
        currency,
        change_date as valid_from,
        lead(change_date) over (
            partition by account_id, currency
            order by change_date
        ) as valid_to,
        sum(mrr_change) over (
            partition by account_id, currency
            order by change_date
            rows between unbounded preceding and current row
        ) as local_mrr,
        sum(prior_mrr_change) over (
            partition by account_id, currency
            order by change_date
            rows between unbounded preceding and current row
        ) as prior_local_mrr,
        sum(seats_change) over (
            partition by account_id, currency
            order by change_date
            rows between unbounded preceding and current row
        ) as seats,
        sum(seated_periods_change) over (
            partition by account_id, currency
            order by change_date
            rows between unbounded preceding and current row
        ) as seated_periods,
        sum(periods_change) over (
            partition by account_id, currency
            order by change_date
            rows between unbounded preceding and current row
        ) as covering_periods,
        max(started_on) over (
            partition by account_id, currency
            order by change_date
            rows between unbounded preceding and current row
        ) as last_started_on
    from daily_changes

),

account_spans as (

    select
        spans.account_id,
        spans.currency,
        spans.valid_from,
        spans.valid_to,
        spans.local_mrr,
        spans.prior_local_mrr,
        spans.seats,
        spans.seated_periods,
        spans.covering_periods,
        spans.last_started_on,
        account_info.first_as_of_date,
        account_info.first_paid_date,
        account_info.currencies
    from spans
    inner join account_info
        on spans.account_id = account_info.account_id

),

-- the rate of each currency on D and on D - 90
date_rates as (

    select
        as_of_dates.as_of_date,
        as_of_dates.is_latest,
        current_rates.currency_code,
        current_rates.to_reporting_rate,
        prior_rates.to_reporting_rate as prior_to_reporting_rate
    from as_of_dates
    inner join exchange_rates as current_rates
        on
            as_of_dates.as_of_date >= current_rates.valid_from
            and as_of_dates.as_of_date < current_rates.valid_to
    inner join exchange_rates as prior_rates
        on
            current_rates.currency_code = prior_rates.currency_code
            and cast({{ dbt.dateadd('day', -90, 'as_of_dates.as_of_date') }} as date) >= prior_rates.valid_from
            and cast({{ dbt.dateadd('day', -90, 'as_of_dates.as_of_date') }} as date) < prior_rates.valid_to

    union all

    select
        as_of_date,
        is_latest,
        'none' as currency_code,
        cast(null as double precision) as to_reporting_rate,
        cast(null as double precision) as prior_to_reporting_rate
    from as_of_dates

),

-- one row per account, currency and as-of date from the account's first as-of date
-- on, with the currency's rates on D and D - 90. A zero needs no rate; a missing
-- rate for an amount leaves it null (and the not_null test fails)
converted as (

    select
        account_spans.account_id,
        date_rates.as_of_date,
        date_rates.is_latest,
        case when account_spans.last_started_on is not null then account_spans.currency end as currency,
        account_spans.last_started_on,
        account_spans.local_mrr,
        case
            when account_spans.local_mrr = 0 then 0
            else cast(account_spans.local_mrr as double precision) * date_rates.to_reporting_rate
        end as mrr,
        case
            when account_spans.prior_local_mrr = 0 then 0
            else cast(account_spans.prior_local_mrr as double precision) * date_rates.prior_to_reporting_rate
        end as mrr_90d_ago,
        case
            when account_spans.covering_periods > 0 and account_spans.seated_periods > 0 then account_spans.seats
        end as seats,
        account_spans.first_paid_date,
        account_spans.currencies
    from account_spans
    inner join date_rates
        on
            account_spans.currency = date_rates.currency_code
            and account_spans.valid_from <= date_rates.as_of_date
            and (account_spans.valid_to is null or account_spans.valid_to > date_rates.as_of_date)
    where date_rates.as_of_date >= account_spans.first_as_of_date

),

single_currency as (

    select
        account_id,
        as_of_date,
        is_latest,
        currency,
        mrr,
        mrr_90d_ago,
        seats,
        first_paid_date
    from converted
    where currencies = 1

),

-- accounts billed in several currencies: the currencies add up; the billing
-- currency is that of the latest period started
multi_currency_ranked as (

    select
        account_id,
        as_of_date,
        is_latest,
        currency,
        mrr,
        mrr_90d_ago,
        seats,
        first_paid_date,
        row_number() over (
            partition by account_id, as_of_date
            order by last_started_on desc nulls last, local_mrr desc, currency asc
        ) as currency_rank
    from converted
    where currencies > 1

),

multi_currency as (

    select
        account_id,
        as_of_date,
        is_latest,
        max(case when currency_rank = 1 then currency end) as currency,
        case when count(*) = count(mrr) then sum(mrr) end as mrr,
        case when count(*) = count(mrr_90d_ago) then sum(mrr_90d_ago) end as mrr_90d_ago,
        sum(seats) as seats,
        first_paid_date
    from multi_currency_ranked
    group by
        account_id,
        as_of_date,
        is_latest,
        first_paid_date

),

covering as (

    select * from single_currency
    union all
    select * from multi_currency

),

final as (

    select
        covering.account_id,
        covering.as_of_date,
        covering.is_latest,
        cast(covering.mrr as double precision) as mrr,
        cast(covering.seats as {{ dbt.type_bigint() }}) as seats,
        cast(
            case
                when covering.mrr_90d_ago > 0
                    then {{ pct('covering.mrr - covering.mrr_90d_ago', 'covering.mrr_90d_ago') }}
            end as double precision
        ) as mrr_change_90d_pct,
        cast(covering.mrr_90d_ago as double precision) as mrr_90d_ago,
        covering.mrr > 0 as is_customer,
        coalesce(covering.first_paid_date <= covering.as_of_date, false) as was_customer,
        case
            when covering.first_paid_date <= covering.as_of_date then covering.first_paid_date
        end as first_paid_date,
        case
            when covering.mrr >= tier_thresholds.enterprise_min_mrr then 'enterprise'
            when covering.mrr >= tier_thresholds.mid_market_min_mrr then 'mid_market'
            when covering.mrr > 0 then 'smb'
        end as value_tier,
        covering.currency
    from covering
    cross join tier_thresholds

)

select * from final

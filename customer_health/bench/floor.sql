-- The SQL floor of the benchmark: the health score and the factor metrics of every
-- account as of ONE date D, straight from the raw files, in one query. No
-- orchestration, no history, no intermediate tables: the least work that gives the
-- warehouse's numbers (main.mart_customer_health and fct_health_factors on its
-- latest as-of date), so that a build can be measured against it.
--
-- Placeholders, substituted by customer_health/bench/floor.py (plain text
-- replacement, nothing else in this file is templated):
--   {as_of}                  the as-of date D, YYYY-MM-DD
--   {seeds_dir}              the project's seeds/ folder: the scoring configuration
--                            is read from its CSV files, so it cannot drift from the
--                            warehouse's
--   {raw:<source>/<table>}   a read of <raw_dir>/<source>/<table>.<format>:
--                            read_parquet(..., file_row_number = true) or
--                            read_csv(..., header = true, all_varchar = true)
--   {file_row}               the row's position in its file (file_row_number for
--                            Parquet, row_number() over () for CSV)
--
-- Assumptions (what the warehouse does and this floor does not):
-- - CLEAN input (the benchmark generates its data with --bad-rows 0): no contract
--   check, no quarantine, no reference check. Every column is cast to its contract
--   type with a plain cast, which fails on a malformed value instead of
--   quarantining the row. Every contract column is present in the files.
-- - The latest version of a key still wins (DECISIONLOG D5): the row with the
--   latest _loaded_at, file order breaking ties.
-- - D is given: the warehouse's default latest date (the last day with data) is
--   not derived here. Rows dated after D are ignored (as-of semantics).
-- - Reporting currency USD (the warehouse's var reporting_currency default).
-- - Only the metrics that are factors today are computed (and mrr, seats,
--   active_users_30d, which they need): a factor naming another account metric of
--   the warehouse (clv, orders_365d, revenue_to_date) makes floor.py stop with an
--   error rather than score without it.
-- - DuckDB SQL (qualify, unpivot, group by all): a baseline, not a model.
--
-- Output: one row per account created on or before D (the rows of the warehouse's
-- mart on that date): the score columns and one column per account metric that a
-- factor may name (a factor is a row of seeds/health_factors.csv).

with

-- ---------------------------------------------------------------- configuration

factors as (

    select
        trim(factor_key) as factor_key,
        cast(floor as double) as factor_floor,
        cast(target as double) as factor_target
    from read_csv('{seeds_dir}/health_factors.csv', header = true, all_varchar = true)

),

-- The weights in force on D: per segment and factor, the row with the latest
-- valid_from on or before D (rows of weight 0 are kept: the set exists).
weights_in_force as (

    select
        trim(segment) as weight_set,
        trim(factor_key) as factor_key,
        cast(weight as double) as weight
    from read_csv('{seeds_dir}/health_weights.csv', header = true, all_varchar = true)
    where cast(valid_from as date) <= date '{as_of}'
    qualify row_number() over (
        partition by trim(segment), trim(factor_key)
        order by cast(valid_from as date) desc
    ) = 1

),

bands as (

    select
        trim(grade) as grade,
        trim(colour) as colour,
        cast(min_score as double) as min_score,
        cast(max_score as double) as max_score,
        cast(max_score as double) = max(cast(max_score as double)) over () as is_top_band
    from read_csv('{seeds_dir}/health_bands.csv', header = true, all_varchar = true)

),

settings as (

    select
        max(case when trim(setting_key) = 'min_coverage' then cast(setting_value as double) end)
            as min_coverage
    from read_csv('{seeds_dir}/health_settings.csv', header = true, all_varchar = true)

),

thresholds as (

    select
        max(case when trim(threshold_key) = 'onboarding_days' then cast(threshold_value as double) end)
            as onboarding_days,
        max(case when trim(threshold_key) = 'dormant_days' then cast(threshold_value as double) end)
            as dormant_days
    from read_csv('{seeds_dir}/segment_thresholds.csv', header = true, all_varchar = true)

),

action_points as (

    select
        trim(action_source) as action_source,
        trim(action_key) as action_key,
        cast(points as integer) as points
    from read_csv('{seeds_dir}/action_points.csv', header = true, all_varchar = true)

),

onboarding_catalogue as (

    select distinct trim(step_key) as step_key
    from read_csv('{seeds_dir}/onboarding_steps.csv', header = true, all_varchar = true)

),

-- USD per unit by month; the first month of a currency stretches back, the last forward.
rates as (

    select
        cast(rate_month as date) as rate_month,
        upper(trim(currency_code)) as currency_code,
        cast(usd_per_unit as double) as usd_per_unit
    from read_csv('{seeds_dir}/exchange_rates.csv', header = true, all_varchar = true)

),

exchange_rates as (

    select
        rates.currency_code,
        case
            when row_number() over (partition by rates.currency_code order by rates.rate_month) = 1
                then date '1900-01-01'
            else rates.rate_month
        end as valid_from,
        coalesce(
            lead(rates.rate_month) over (partition by rates.currency_code order by rates.rate_month),
            date '9999-12-31'
        ) as valid_to,
        rates.usd_per_unit / reporting.usd_per_unit as to_reporting_rate
    from rates
    inner join rates as reporting
        on reporting.currency_code = 'USD' and rates.rate_month = reporting.rate_month

),

-- ---------------------------------------------------------------- raw tables
-- Typed, latest version of each key. Only the columns the score needs.

accounts as (

    select account_id
    from (
        select
            account_id,
            cast(created_at as timestamp) as created_at,
            cast(_loaded_at as timestamp) as loaded_at,
            {file_row} as file_row
        from {raw:crm/accounts}
    )
    qualify row_number() over (partition by account_id order by loaded_at desc nulls last, file_row desc) = 1
    -- the accounts that exist on D: the rows of the warehouse's mart
    and cast(created_at as date) <= date '{as_of}'

),

periods as (

    select * exclude (loaded_at, file_row)
    from (
        select
            period_id,
            account_id,
            cast(seats as bigint) as seats,
            cast(mrr as decimal(18, 2)) as mrr,
            upper(currency) as currency,
            cast(period_start as date) as period_start,
            cast(period_end as date) as period_end,
            cast(_loaded_at as timestamp) as loaded_at,
            {file_row} as file_row
        from {raw:billing/subscription_periods}
    )
    qualify row_number() over (partition by period_id order by loaded_at desc nulls last, file_row desc) = 1

),

invoices as (

    select * exclude (loaded_at, file_row)
    from (
        select
            invoice_id,
            account_id,
            cast(issued_at as timestamp) as issued_at,
            cast(due_date as date) as due_date,
            cast(amount_due as decimal(18, 2)) as amount_due,
            status,
            cast(paid_at as timestamp) as paid_at,
            cast(_loaded_at as timestamp) as loaded_at,
            {file_row} as file_row
        from {raw:billing/invoices}
    )
    qualify row_number() over (partition by invoice_id order by loaded_at desc nulls last, file_row desc) = 1

),

orders as (

    select * exclude (loaded_at, file_row)
    from (
        select
            order_id,
            account_id,
            cast(ordered_at as timestamp) as ordered_at,
            cast(amount as decimal(18, 2)) as amount,
            upper(currency) as currency,
            status,
            cast(_loaded_at as timestamp) as loaded_at,
            {file_row} as file_row
        from {raw:billing/orders}
    )
    qualify row_number() over (partition by order_id order by loaded_at desc nulls last, file_row desc) = 1

),

order_returns as (

    select * exclude (loaded_at, file_row)
    from (
        select
            return_id,
            order_id,
            cast(returned_at as timestamp) as returned_at,
            cast(amount as decimal(18, 2)) as amount,
            cast(_loaded_at as timestamp) as loaded_at,
            {file_row} as file_row
        from {raw:billing/returns}
    )
    qualify row_number() over (partition by return_id order by loaded_at desc nulls last, file_row desc) = 1

),

opportunities as (

    select * exclude (loaded_at, file_row)
    from (
        select
            opportunity_id,
            account_id,
            opportunity_type,
            stage,
            cast(created_at as timestamp) as created_at,
            cast(close_date as date) as close_date,
            cast(_loaded_at as timestamp) as loaded_at,
            {file_row} as file_row
        from {raw:crm/opportunities}
    )
    qualify row_number() over (partition by opportunity_id order by loaded_at desc nulls last, file_row desc) = 1

),

activities as (

    select * exclude (loaded_at, file_row)
    from (
        select
            activity_id,
            account_id,
            activity_type,
            cast(occurred_at as timestamp) as occurred_at,
            cast(_loaded_at as timestamp) as loaded_at,
            {file_row} as file_row
        from {raw:crm/activities}
    )
    qualify row_number() over (partition by activity_id order by loaded_at desc nulls last, file_row desc) = 1

),

tickets as (

    select * exclude (loaded_at, file_row)
    from (
        select
            ticket_id,
            account_id,
            priority,
            cast(created_at as timestamp) as created_at,
            cast(solved_at as timestamp) as solved_at,
            cast(agent_reply_count as bigint) as agent_reply_count,
            cast(reopen_count as bigint) as reopen_count,
            cast(_loaded_at as timestamp) as loaded_at,
            {file_row} as file_row
        from {raw:support/tickets}
    )
    qualify row_number() over (partition by ticket_id order by loaded_at desc nulls last, file_row desc) = 1

),

csat_responses as (

    select * exclude (loaded_at, file_row)
    from (
        select
            response_id,
            ticket_id,
            cast(score as bigint) as score,
            cast(responded_at as timestamp) as responded_at,
            cast(_loaded_at as timestamp) as loaded_at,
            {file_row} as file_row
        from {raw:support/csat_responses}
    )
    qualify row_number() over (partition by response_id order by loaded_at desc nulls last, file_row desc) = 1

),

nps_responses as (

    select * exclude (loaded_at, file_row)
    from (
        select
            response_id,
            account_id,
            cast(score as bigint) as score,
            cast(responded_at as timestamp) as responded_at,
            cast(_loaded_at as timestamp) as loaded_at,
            {file_row} as file_row
        from {raw:surveys/nps_responses}
    )
    qualify row_number() over (partition by response_id order by loaded_at desc nulls last, file_row desc) = 1

),

usage_events as (

    select * exclude (loaded_at, file_row)
    from (
        select
            event_id,
            user_id,
            account_id,
            feature_key,
            cast(occurred_at as timestamp) as occurred_at,
            cast(_loaded_at as timestamp) as loaded_at,
            {file_row} as file_row
        from {raw:product/usage_events}
    )
    qualify row_number() over (partition by event_id order by loaded_at desc nulls last, file_row desc) = 1

),

features as (

    select * exclude (loaded_at, file_row)
    from (
        select
            feature_key,
            cast(is_core as boolean) as is_core,
            cast(released_at as date) as released_at,
            cast(_loaded_at as timestamp) as loaded_at,
            {file_row} as file_row
        from {raw:product/features}
    )
    qualify row_number() over (partition by feature_key order by loaded_at desc nulls last, file_row desc) = 1

),

onboarding_steps as (

    select * exclude (loaded_at, file_row)
    from (
        select
            account_id,
            step_key,
            cast(completed_at as timestamp) as completed_at,
            cast(_loaded_at as timestamp) as loaded_at,
            {file_row} as file_row
        from {raw:product/onboarding_steps}
    )
    qualify row_number() over (
        partition by account_id, step_key order by loaded_at desc nulls last, file_row desc
    ) = 1

),

feedback as (

    select * exclude (loaded_at, file_row)
    from (
        select
            feedback_id,
            account_id,
            sentiment,
            cast(submitted_at as timestamp) as submitted_at,
            cast(_loaded_at as timestamp) as loaded_at,
            {file_row} as file_row
        from {raw:product/feedback}
    )
    qualify row_number() over (partition by feedback_id order by loaded_at desc nulls last, file_row desc) = 1

),

-- ---------------------------------------------------------------- metric families (as of D)

-- Subscriptions: a period covers d when period_start <= d < coalesce(period_end, infinity).
-- Amounts add up per currency and convert at the rate of the day measured (D, D - 90).
subscription_currencies as (

    select
        periods.account_id,
        periods.currency,
        sum(
            case
                when periods.period_start <= date '{as_of}'
                    and (periods.period_end is null or periods.period_end > date '{as_of}')
                    then periods.mrr
                else 0
            end
        ) as local_mrr,
        sum(
            case
                when periods.period_start <= date '{as_of}' - 90
                    and (periods.period_end is null or periods.period_end > date '{as_of}' - 90)
                    then periods.mrr
                else 0
            end
        ) as prior_local_mrr,
        sum(
            case
                when periods.period_start <= date '{as_of}'
                    and (periods.period_end is null or periods.period_end > date '{as_of}')
                    then periods.seats
            end
        ) as seats,
        min(case when periods.mrr > 0 then periods.period_start end) as first_paid_date
    from periods
    where periods.period_end is null or periods.period_end > periods.period_start
    group by periods.account_id, periods.currency

),

subscriptions as (

    select
        subscription_currencies.account_id,
        sum(
            case
                when subscription_currencies.local_mrr = 0 then 0
                else cast(subscription_currencies.local_mrr as double) * rate_now.to_reporting_rate
            end
        ) as mrr,
        sum(
            case
                when subscription_currencies.prior_local_mrr = 0 then 0
                else cast(subscription_currencies.prior_local_mrr as double) * rate_prior.to_reporting_rate
            end
        ) as mrr_90d_ago,
        sum(subscription_currencies.seats) as seats,
        min(subscription_currencies.first_paid_date) as first_paid_date
    from subscription_currencies
    left join exchange_rates as rate_now
        on
            subscription_currencies.currency = rate_now.currency_code
            and date '{as_of}' >= rate_now.valid_from and date '{as_of}' < rate_now.valid_to
    left join exchange_rates as rate_prior
        on
            subscription_currencies.currency = rate_prior.currency_code
            and date '{as_of}' - 90 >= rate_prior.valid_from and date '{as_of}' - 90 < rate_prior.valid_to
    group by subscription_currencies.account_id

),

-- Support: tickets created in the trailing 30 days and the 90 before; solved tickets of 90 days.
support as (

    select
        account_id,
        count(case when cast(created_at as date) between date '{as_of}' - 29 and date '{as_of}' then 1 end)
            as tickets_created_30d,
        count(case when cast(created_at as date) between date '{as_of}' - 119 and date '{as_of}' - 30 then 1 end)
            as tickets_created_prior_90d,
        count(
            case
                when priority in ('high', 'urgent')
                    and cast(created_at as date) between date '{as_of}' - 89 and date '{as_of}' then 1
            end
        ) as urgent_tickets_90d,
        avg(
            case
                when cast(solved_at as date) between date '{as_of}' - 89 and date '{as_of}'
                    then date_diff('second', created_at, solved_at) / 3600.0
            end
        ) as avg_resolution_hours,
        100.0 * count(
            case
                when cast(solved_at as date) between date '{as_of}' - 89 and date '{as_of}'
                    and agent_reply_count <= 1 and reopen_count = 0 then 1
            end
        ) / nullif(
            count(case when cast(solved_at as date) between date '{as_of}' - 89 and date '{as_of}' then 1 end), 0
        )
            as first_contact_resolution_rate
    from tickets
    group by account_id

),

-- NPS over 180 days; CSAT over 90 days, an answer belonging to its ticket's account.
nps as (

    select
        account_id,
        100.0 * (count(case when score >= 9 then 1 end) - count(case when score <= 6 then 1 end))
        / nullif(count(score), 0) as nps
    from nps_responses
    where cast(responded_at as date) between date '{as_of}' - 179 and date '{as_of}'
    group by account_id

),

csat as (

    select
        tickets.account_id,
        100.0 * count(case when csat_responses.score >= 4 then 1 end) / nullif(count(csat_responses.score), 0) as csat
    from csat_responses
    inner join tickets
        on csat_responses.ticket_id = tickets.ticket_id
    where cast(csat_responses.responded_at as date) between date '{as_of}' - 89 and date '{as_of}'
    group by tickets.account_id

),

feedback_sentiment as (

    select
        account_id,
        100.0 * (
            count(case when sentiment = 'positive' then 1 end) - count(case when sentiment = 'negative' then 1 end)
        )
        / nullif(count(*), 0) as feedback_sentiment
    from feedback
    where cast(submitted_at as date) between date '{as_of}' - 179 and date '{as_of}'
    group by account_id

),

-- Payments (DECISIONLOG D15): open, paid and uncollectible invoices, credit notes left out; an
-- invoice counts for late_payment_rate once issued and due in the 180 days, and is late once
-- past its due date when paid after it (whenever) or never paid.
payable_invoices as (

    select
        account_id,
        due_date,
        cast(issued_at as date) as issued_date,
        greatest(cast(issued_at as date), due_date) as known_date,
        case when status = 'paid' then coalesce(cast(paid_at as date), due_date) end as paid_date
    from invoices
    where status in ('open', 'paid', 'uncollectible') and amount_due >= 0

),

payments as (

    select
        account_id,
        100.0 * count(
            case
                when due_date >= date '{as_of}' - 179 and known_date <= date '{as_of}'
                    and due_date < date '{as_of}' and (paid_date is null or paid_date > due_date) then 1
            end
        ) / nullif(count(case when due_date >= date '{as_of}' - 179 and known_date <= date '{as_of}' then 1 end), 0)
            as late_payment_rate,
        max(
            case
                when due_date < date '{as_of}' and issued_date <= date '{as_of}'
                    and coalesce(paid_date, date '9999-12-31') > date '{as_of}'
                    then date '{as_of}' - due_date
            end
        ) as days_past_due
    from payable_invoices
    group by account_id

),

-- Orders not cancelled placed in the 365 days and their returns made by D, at the order's rate.
window_orders as (

    select
        orders.order_id,
        orders.account_id,
        cast(orders.ordered_at as date) as order_date,
        orders.amount * exchange_rates.to_reporting_rate as ordered_amount,
        exchange_rates.to_reporting_rate as order_rate
    from orders
    inner join exchange_rates
        on
            orders.currency = exchange_rates.currency_code
            and cast(orders.ordered_at as date) >= exchange_rates.valid_from
            and cast(orders.ordered_at as date) < exchange_rates.valid_to
    where
        orders.status <> 'cancelled'
        and cast(orders.ordered_at as date) between date '{as_of}' - 364 and date '{as_of}'

),

window_returns as (

    select
        window_orders.account_id,
        sum(order_returns.amount * window_orders.order_rate) as returned_amount
    from order_returns
    inner join window_orders
        on order_returns.order_id = window_orders.order_id
    where greatest(cast(order_returns.returned_at as date), window_orders.order_date) <= date '{as_of}'
    group by window_orders.account_id

),

returns as (

    select
        window_orders.account_id,
        100.0 * coalesce(max(window_returns.returned_amount), 0)
        / nullif(sum(window_orders.ordered_amount), 0) as return_rate
    from window_orders
    left join window_returns
        on window_orders.account_id = window_returns.account_id
    group by window_orders.account_id

),

-- Renewals won or lost, closed (not before their creation) on or before D.
renewals as (

    select
        account_id,
        100.0 * count(case when stage = 'won' then 1 end) / nullif(count(*), 0) as renewal_win_rate
    from opportunities
    where
        opportunity_type = 'renewal'
        and stage in ('won', 'lost')
        and close_date is not null
        and greatest(close_date, cast(created_at as date)) <= date '{as_of}'
    group by account_id

),

-- Usage: each event's day of use, on or before D (read by three CTEs: computed once).
usage_days as materialized (

    select
        account_id,
        user_id,
        feature_key,
        cast(occurred_at as date) as usage_date
    from usage_events
    where cast(occurred_at as date) <= date '{as_of}'

),

-- Account x user x day of use over the 60 days D-59 .. D, then the 30-day figures.
usage_user_days as (

    select
        account_id,
        user_id,
        usage_date,
        count(*) as event_count
    from usage_days
    where usage_date >= date '{as_of}' - 59
    group by all

),

usage_windows as (

    select
        account_id,
        sum(case when usage_date >= date '{as_of}' - 29 then event_count else 0 end) as events_30d,
        sum(case when usage_date < date '{as_of}' - 29 then event_count else 0 end) as events_prior_30d,
        count(distinct case when usage_date >= date '{as_of}' - 29 then usage_date end) as active_days_30d,
        count(case when usage_date >= date '{as_of}' - 29 then 1 end) as daily_active_users_sum_30d,
        count(distinct case when usage_date >= date '{as_of}' - 29 then user_id end) as active_users_30d
    from usage_user_days
    group by account_id

),

last_use as (

    select
        account_id,
        max(usage_date) as last_usage_date
    from usage_days
    group by account_id

),

-- Core features released on or before D (no release date: from the start).
core_features as (

    select feature_key
    from features
    where is_core and coalesce(released_at, date '1900-01-01') <= date '{as_of}'

),

core_features_used as (

    select
        usage_days.account_id,
        count(distinct usage_days.feature_key) as core_features_used_30d
    from usage_days
    inner join core_features
        on usage_days.feature_key = core_features.feature_key
    where usage_days.usage_date >= date '{as_of}' - 29
    group by usage_days.account_id

),

-- Onboarding: catalogue steps at their first completion.
first_completions as (

    select
        onboarding_steps.account_id,
        onboarding_steps.step_key,
        min(cast(onboarding_steps.completed_at as date)) as completed_date
    from onboarding_steps
    inner join onboarding_catalogue
        on onboarding_steps.step_key = onboarding_catalogue.step_key
    group by all

),

onboarding as (

    select
        account_id,
        100.0 * count(*) / nullif((select count(*) from onboarding_catalogue), 0) as onboarding_completion
    from first_completions
    where completed_date <= date '{as_of}'
    group by account_id

),

-- Engagement points of the 90 days D-89 .. D, each action priced by seeds/action_points.csv.
engagement as (

    select
        actions.account_id,
        sum(action_points.points) as engagement_points_90d
    from (
        select
            account_id,
            cast(occurred_at as date) as action_date,
            'activity' as action_source,
            activity_type as action_key
        from activities
        union all
        select account_id, completed_date, 'onboarding', 'step_completed'
        from first_completions
        union all
        select account_id, cast(submitted_at as date), 'feedback', sentiment
        from feedback
    ) as actions
    inner join action_points
        on actions.action_source = action_points.action_source and actions.action_key = action_points.action_key
    where actions.action_date between date '{as_of}' - 89 and date '{as_of}'
    group by actions.account_id

),

-- ---------------------------------------------------------------- every metric, one row per account

metrics as materialized (

    select
        accounts.account_id,
        coalesce(subscriptions.mrr, 0) > 0 as is_customer,
        case when subscriptions.first_paid_date <= date '{as_of}' then subscriptions.first_paid_date end
            as first_paid_date,
        cast(coalesce(subscriptions.mrr, 0) as double) as mrr,
        cast(subscriptions.seats as double) as seats,
        cast(
            case
                when subscriptions.mrr_90d_ago > 0
                    then 100.0 * (subscriptions.mrr - subscriptions.mrr_90d_ago) / nullif(subscriptions.mrr_90d_ago, 0)
            end as double
        ) as mrr_change_90d_pct,
        cast(nps.nps as double) as nps,
        cast(csat.csat as double) as csat,
        cast(support.avg_resolution_hours as double) as avg_resolution_hours,
        cast(support.first_contact_resolution_rate as double) as first_contact_resolution_rate,
        (cast(coalesce(support.tickets_created_30d, 0) as double) + 1)
        / (cast(coalesce(support.tickets_created_prior_90d, 0) as double) / 3 + 1) as ticket_volume_trend,
        cast(coalesce(support.urgent_tickets_90d, 0) as double) as urgent_tickets_90d,
        cast(payments.late_payment_rate as double) as late_payment_rate,
        cast(coalesce(payments.days_past_due, 0) as double) as days_past_due,
        cast(renewals.renewal_win_rate as double) as renewal_win_rate,
        cast(coalesce(usage_windows.active_users_30d, 0) as double) as active_users_30d,
        cast(
            100.0 * coalesce(usage_windows.active_users_30d, 0) / nullif(cast(subscriptions.seats as double), 0)
            as double
        ) as seat_utilization,
        cast(
            case
                when coalesce(usage_windows.active_users_30d, 0) = 0 then 0
                else 100.0 * usage_windows.daily_active_users_sum_30d / nullif(30 * usage_windows.active_users_30d, 0)
            end as double
        ) as stickiness,
        cast(coalesce(usage_windows.active_days_30d, 0) as double) as active_days_30d,
        cast(
            100.0 * coalesce(core_features_used.core_features_used_30d, 0)
            / nullif((select count(*) from core_features), 0) as double
        ) as core_feature_adoption,
        cast(
            100 * ((cast(coalesce(usage_windows.events_30d, 0) as double) + 1)
            / (cast(coalesce(usage_windows.events_prior_30d, 0) as double) + 1) - 1) as double
        ) as usage_trend,
        cast(date '{as_of}' - last_use.last_usage_date as double) as days_since_last_use,
        cast(coalesce(onboarding.onboarding_completion, 0) as double) as onboarding_completion,
        cast(coalesce(engagement.engagement_points_90d, 0) as double) as engagement_points_90d,
        cast(feedback_sentiment.feedback_sentiment as double) as feedback_sentiment,
        cast(returns.return_rate as double) as return_rate
    from accounts
    left join subscriptions on accounts.account_id = subscriptions.account_id
    left join support on accounts.account_id = support.account_id
    left join nps on accounts.account_id = nps.account_id
    left join csat on accounts.account_id = csat.account_id
    left join feedback_sentiment on accounts.account_id = feedback_sentiment.account_id
    left join payments on accounts.account_id = payments.account_id
    left join returns on accounts.account_id = returns.account_id
    left join renewals on accounts.account_id = renewals.account_id
    left join usage_windows on accounts.account_id = usage_windows.account_id
    left join last_use on accounts.account_id = last_use.account_id
    left join core_features_used on accounts.account_id = core_features_used.account_id
    left join onboarding on accounts.account_id = onboarding.account_id
    left join engagement on accounts.account_id = engagement.account_id

),

-- ---------------------------------------------------------------- scoring

-- Lifecycle stage, in order of precedence, and the weight set: the stage's own weights when it
-- has rows in force, else default.
segments as (

    select
        metrics.account_id,
        case
            when metrics.is_customer and date '{as_of}' - metrics.first_paid_date < thresholds.onboarding_days
                then 'onboarding'
            when metrics.is_customer and coalesce(metrics.days_since_last_use >= thresholds.dormant_days, true)
                then 'dormant'
            when metrics.is_customer then 'active'
            when metrics.first_paid_date is not null then 'churned'
            else 'prospect'
        end as lifecycle_stage
    from metrics
    cross join thresholds

),

account_weight_sets as (

    select
        segments.account_id,
        coalesce(own_set.weight_set, 'default') as weight_set
    from segments
    left join (select distinct weight_set from weights_in_force where weight_set <> 'default') as own_set
        on segments.lifecycle_stage = own_set.weight_set

),

-- The long form: one row per account and metric; a factor is a metric named in health_factors.csv.
metric_values as (

    select *
    from (select * exclude (is_customer, first_paid_date) from metrics)
    unpivot include nulls (metric_value for factor_key in (columns(* exclude (account_id))))

),

factor_scores as (

    select
        metric_values.account_id,
        metric_values.factor_key,
        metric_values.metric_value,
        weights_in_force.weight,
        case
            when metric_values.metric_value is null then null
            else greatest(0.0, least(100.0,
                100.0 * (metric_values.metric_value - factors.factor_floor)
                / (factors.factor_target - factors.factor_floor)
            ))
        end as factor_score
    from metric_values
    inner join account_weight_sets
        on metric_values.account_id = account_weight_sets.account_id
    inner join factors
        on metric_values.factor_key = factors.factor_key
    inner join weights_in_force
        on
            account_weight_sets.weight_set = weights_in_force.weight_set
            and metric_values.factor_key = weights_in_force.factor_key
    where weights_in_force.weight > 0

),

-- health score = sum(factor score x weight) / weight of the factors present (summed as an exact
-- decimal, as the warehouse does); coverage = weight present / weight of the set.
scores as (

    select
        account_id,
        cast(
            sum(case when factor_score is not null then cast(factor_score * weight as decimal(38, 12)) end)
            as double
        ) / nullif(sum(case when factor_score is not null then weight else 0 end), 0) as health_score,
        coalesce(
            100.0 * sum(case when factor_score is not null then weight else 0 end) / nullif(sum(weight), 0), 0
        ) as score_coverage
    from factor_scores
    group by account_id

),

graded as (

    select
        metrics.account_id,
        scores.health_score,
        coalesce(scores.score_coverage, 0) as score_coverage,
        scores.health_score is not null and coalesce(scores.score_coverage, 0) >= settings.min_coverage as is_graded
    from metrics
    left join scores on metrics.account_id = scores.account_id
    cross join settings

),

final as (

    select
        graded.account_id,
        date '{as_of}' as as_of_date,
        cast(graded.health_score as double) as health_score,
        cast(graded.score_coverage as double) as score_coverage,
        case when graded.is_graded then bands.grade end as grade,
        case when graded.is_graded then bands.colour else 'grey' end as colour,
        metrics.* exclude (account_id, is_customer, first_paid_date)
    from graded
    inner join metrics on graded.account_id = metrics.account_id
    left join bands
        on
            graded.health_score >= bands.min_score
            and (
                graded.health_score < bands.max_score
                or (bands.is_top_band and graded.health_score <= bands.max_score)
            )

)

select * from final

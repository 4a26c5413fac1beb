{#-
    A collections worklist: the accounts 30 days or more past due as of the
    latest as-of date (the threshold of the past-due alert), oldest debt first,
    with their late-payment history, what they are worth, and how they feel
    about us (latest NPS answer, urgent tickets), so that finance and the CSM
    can decide who calls. The open amount is in the reporting currency, at the
    rate of each invoice's due date.
-#}

{%- set min_days_past_due = var('worklist_min_days_past_due', 30) %}

with payment_metrics as (

    select * from {{ ref('int_payment_metrics') }}

),

order_metrics as (

    select * from {{ ref('int_order_metrics') }}

),

survey_metrics as (

    select * from {{ ref('int_survey_metrics') }}

),

support_metrics as (

    select * from {{ ref('int_support_metrics') }}

),

as_of_dates as (

    select * from {{ ref('int_as_of_dates') }}

),

invoices as (

    select * from {{ ref('stg_billing__invoices') }}

),

exchange_rates as (

    select * from {{ ref('int_exchange_rates') }}

),

accounts as (

    select * from {{ ref('stg_crm__accounts') }}

),

latest as (

    select as_of_date as latest_date
    from as_of_dates
    where is_latest

),

-- Invoices unpaid and past due on the latest date (same state as days_past_due).
past_due_invoices as (

    select
        invoices.account_id,
        (invoices.amount_due - coalesce(invoices.amount_paid, 0)) * exchange_rates.to_reporting_rate as open_amount
    from invoices
    cross join latest
    inner join exchange_rates
        on
            invoices.currency = exchange_rates.currency_code
            and invoices.due_date >= exchange_rates.valid_from
            and invoices.due_date < exchange_rates.valid_to
    where
        invoices.amount_due >= 0
        and invoices.due_date < latest.latest_date
        and cast(invoices.issued_at as date) <= latest.latest_date
        and (
            invoices.status in ('open', 'uncollectible')
            or (invoices.status = 'paid' and cast(invoices.paid_at as date) > latest.latest_date)
        )

),

open_amounts as (

    select
        account_id,
        count(*) as past_due_invoices,
        sum(open_amount) as past_due_amount
    from past_due_invoices
    group by account_id

),

final as (

    select
        payment_metrics.account_id,
        accounts.account_name,
        accounts.csm_owner,
        payment_metrics.as_of_date,
        payment_metrics.days_past_due,
        open_amounts.past_due_invoices,
        open_amounts.past_due_amount,
        payment_metrics.late_payment_rate,
        order_metrics.revenue_to_date,
        survey_metrics.last_nps_score,
        survey_metrics.last_nps_responded_at,
        support_metrics.urgent_tickets_90d
    from payment_metrics
    inner join latest
        on payment_metrics.as_of_date = latest.latest_date
    left join accounts
        on payment_metrics.account_id = accounts.account_id
    left join open_amounts
        on payment_metrics.account_id = open_amounts.account_id
    left join order_metrics
        on
            payment_metrics.account_id = order_metrics.account_id
            and payment_metrics.as_of_date = order_metrics.as_of_date
    left join survey_metrics
        on
            payment_metrics.account_id = survey_metrics.account_id
            and payment_metrics.as_of_date = survey_metrics.as_of_date
    left join support_metrics
        on
            payment_metrics.account_id = support_metrics.account_id
            and payment_metrics.as_of_date = support_metrics.as_of_date
    where payment_metrics.days_past_due >= {{ min_days_past_due }}

)

select * from final
order by days_past_due desc, past_due_amount desc, account_id asc

{{ config(**health_as_of_incremental()) }}
{%- set recompute_from = health_recompute_from() %}

{#-
    Payment metrics of every account as of every as-of date (docs:
    _payments__docs.md). An invoice row carries only its latest status, so its
    state on D is rebuilt: it exists from the day it was issued; a paid invoice
    was paid on D when paid_at is on or before the end of D and open before;
    open and uncollectible invoices were unpaid on every day; void and draft
    invoices are left out (their change of status has no date). Credit notes
    (amount_due below zero) owe nothing and are left out too.
-#}

with spine as (

    select * from {{ ref('int_account_as_of_dates') }}
    {{ health_dates_from(recompute_from) }}

),

as_of_dates as (

    select * from {{ ref('int_as_of_dates') }}
    {{ health_dates_from(recompute_from) }}

),

invoices as (

    select * from {{ ref('stg_billing__invoices') }}

),

windows as (

    select
        as_of_date,
        cast({{ dbt.dateadd('day', -179, 'as_of_date') }} as date) as window_180_start
    from as_of_dates

),

payable_invoices as (

    select
        account_id,
        due_date,
        cast(issued_at as date) as issued_date,
        -- An invoice due in the window of D must also be issued by D: it enters the
        -- window on the later of its issue and due dates.
        greatest(cast(issued_at as date), due_date) as known_date,
        -- Day the invoice was paid; null while it is unpaid. A paid invoice without
        -- a payment time is taken as paid on its due date (on time).
        case
            when status = 'paid' then coalesce(cast(paid_at as date), due_date)
        end as paid_date
    from invoices
    where
        status in ('open', 'paid', 'uncollectible')
        and amount_due >= 0

),

-- Whether an invoice is late does not depend on D once D is past its due date:
-- paid after the due date (whenever that is, so also after D) or never paid.
invoices_daily as (

    select
        account_id,
        due_date,
        known_date,
        count(*) as invoices_due,
        count(case when paid_date is null or paid_date > due_date then 1 end) as invoices_paid_late_or_unpaid
    from payable_invoices
    group by
        account_id,
        due_date,
        known_date

),

late_windows as (

    select
        invoices_daily.account_id,
        windows.as_of_date,
        sum(invoices_daily.invoices_due) as invoices_due,
        -- An invoice due on D itself is not late yet on D.
        sum(
            case
                when invoices_daily.due_date < windows.as_of_date
                    then invoices_daily.invoices_paid_late_or_unpaid
                else 0
            end
        ) as invoices_late
    from invoices_daily
    inner join windows
        on
            invoices_daily.due_date >= windows.window_180_start
            and invoices_daily.known_date <= windows.as_of_date
    group by
        invoices_daily.account_id,
        windows.as_of_date

),

-- Open (or uncollectible) and past due on D: issued on or before D, due before D,
-- not paid by the end of D.
past_due as (

    select
        payable_invoices.account_id,
        as_of_dates.as_of_date,
        min(payable_invoices.due_date) as oldest_due_date
    from payable_invoices
    inner join as_of_dates
        on
            payable_invoices.due_date < as_of_dates.as_of_date
            and payable_invoices.issued_date <= as_of_dates.as_of_date
            and coalesce(payable_invoices.paid_date, cast('9999-12-31' as date)) > as_of_dates.as_of_date
    group by
        payable_invoices.account_id,
        as_of_dates.as_of_date

),

final as (

    select
        spine.account_id,
        spine.as_of_date,
        cast({{ pct('late_windows.invoices_late', 'late_windows.invoices_due') }} as double precision)
            as late_payment_rate,
        cast(
            coalesce({{ dbt.datediff('past_due.oldest_due_date', 'spine.as_of_date', 'day') }}, 0)
            as double precision
        ) as days_past_due
    from spine
    left join late_windows
        on
            spine.account_id = late_windows.account_id
            and spine.as_of_date = late_windows.as_of_date
    left join past_due
        on
            spine.account_id = past_due.account_id
            and spine.as_of_date = past_due.as_of_date

)

select * from final

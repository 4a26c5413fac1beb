{#- billing.invoices: the good, latest version of every row (see base_billing__invoices). -#}

with base as (

    select * from {{ ref('base_billing__invoices') }}

),

final as (

    select
        invoice_id,
        account_id,
        subscription_id,
        issued_at,
        due_date,
        amount_due,
        amount_paid,
        currency,
        status,
        paid_at,
        loaded_at,
        staged_at
    from base
    where quarantine_reason is null and not is_superseded

)

select * from final

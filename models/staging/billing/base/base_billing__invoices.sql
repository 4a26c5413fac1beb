{{ config(**health_staging_incremental(
    source=['billing', 'invoices'],
    key=['invoice_id'],
    references={
        'account_id': 'base_crm__accounts.account_id',
        'currency': 'exchange_rates.currency_code',
    },
)) }}

{#-
    Every raw row of billing.invoices, typed, with the first contract rule it breaks
    (quarantine_reason, null when none) and whether a later version of the same
    invoice_id supersedes it. stg_billing__invoices keeps the good, latest rows;
    quarantined_rows keeps the rest.
-#}

with source as (

    select
        *,
        {{ source_row_number() }}{{ health_row_offset() }} as source_row_number,
        {{ health_source_fingerprint() }} as source_fingerprint
    from {{ source('billing', 'invoices') }}
    {{ health_new_rows() }}

),

known_accounts as (

    {{ health_known_keys('base_crm__accounts', 'account_id') }}

),

known_currencies as (

    {{ health_known_keys('exchange_rates', 'currency_code') }}

),

typed as (

    select
        source_row_number,
        source_fingerprint,
        {{ raw_text('invoice_id') }} as invoice_id,
        {{ raw_text('account_id') }} as account_id,
        {{ raw_text('subscription_id') }} as subscription_id,
        {{ cast_raw('issued_at', 'timestamp') }} as issued_at,
        {{ cast_raw('due_date', 'date') }} as due_date,
        {{ cast_raw('amount_due', 'decimal') }} as amount_due,
        {{ cast_raw('amount_paid', 'decimal') }} as amount_paid,
        upper({{ raw_text('currency') }}) as currency,
        {{ raw_text('status') }} as status,
        {{ cast_raw('paid_at', 'timestamp') }} as paid_at,
        {{ raw_is_present('issued_at') }} as has_issued_at,
        {{ raw_is_present('due_date') }} as has_due_date,
        {{ raw_is_present('amount_due') }} as has_amount_due,
        {{ raw_is_present('amount_paid') }} as has_amount_paid,
        {{ raw_is_present('paid_at') }} as has_paid_at,
        {{ cast_raw('_loaded_at', 'timestamp') }} as loaded_at
    from source

),

restaged as (

    select * from typed
    {{ health_restaged_stored() }}

),

checked as (

    select
        typed.*,
        case
            when typed.invoice_id is null then 'missing_required:invoice_id'
            when typed.account_id is null then 'missing_required:account_id'
            when not typed.has_issued_at then 'missing_required:issued_at'
            when not typed.has_due_date then 'missing_required:due_date'
            when not typed.has_amount_due then 'missing_required:amount_due'
            when typed.currency is null then 'missing_required:currency'
            when typed.status is null then 'missing_required:status'
            when typed.issued_at is null and typed.has_issued_at then 'invalid_type:issued_at'
            when typed.due_date is null and typed.has_due_date then 'invalid_type:due_date'
            when typed.amount_due is null and typed.has_amount_due then 'invalid_type:amount_due'
            when typed.amount_paid is null and typed.has_amount_paid
                then 'invalid_type:amount_paid'
            when typed.paid_at is null and typed.has_paid_at then 'invalid_type:paid_at'
            when typed.amount_paid not between 0 and 1000000000 then 'out_of_range:amount_paid'
            when typed.status not in ('draft', 'open', 'paid', 'void', 'uncollectible')
                then 'invalid_value:status'
            when typed.currency not in (select known_currencies.currency_code from known_currencies)
                then 'unknown_currency:currency'
            when typed.account_id is not null and ref_account_id.account_id is null
                then 'unknown_reference:account_id'
            when not ref_account_id.is_valid then 'quarantined_reference:account_id'
        end as quarantine_reason
    from restaged as typed
    left join known_accounts as ref_account_id
        on typed.account_id = ref_account_id.account_id

),

final as (

    select
        *,
        quarantine_reason is null and row_number() over (
            partition by invoice_id, quarantine_reason is null
            order by loaded_at desc nulls last, source_row_number desc
        ) > 1 as is_superseded,
        {{ health_run_started_at() }} as staged_at
    from checked

)

select * from final

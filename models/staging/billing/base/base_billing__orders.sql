{{ config(**health_staging_incremental(
    source=['billing', 'orders'],
    key=['order_id'],
    references={
        'account_id': 'base_crm__accounts.account_id',
        'currency': 'exchange_rates.currency_code',
    },
)) }}

{#-
    Every raw row of billing.orders, typed, with the first contract rule it breaks
    (quarantine_reason, null when none) and whether a later version of the same
    order_id supersedes it. stg_billing__orders keeps the good, latest rows;
    quarantined_rows keeps the rest.
-#}

with source as (

    select
        *,
        {{ source_row_number() }}{{ health_row_offset() }} as source_row_number,
        {{ health_source_fingerprint() }} as source_fingerprint
    from {{ source('billing', 'orders') }}
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
        {{ raw_text('order_id') }} as order_id,
        {{ raw_text('account_id') }} as account_id,
        {{ cast_raw('ordered_at', 'timestamp') }} as ordered_at,
        {{ cast_raw('amount', 'decimal') }} as amount,
        upper({{ raw_text('currency') }}) as currency,
        {{ raw_text('status') }} as status,
        {{ raw_is_present('ordered_at') }} as has_ordered_at,
        {{ raw_is_present('amount') }} as has_amount,
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
            when typed.order_id is null then 'missing_required:order_id'
            when typed.account_id is null then 'missing_required:account_id'
            when not typed.has_ordered_at then 'missing_required:ordered_at'
            when not typed.has_amount then 'missing_required:amount'
            when typed.currency is null then 'missing_required:currency'
            when typed.status is null then 'missing_required:status'
            when typed.ordered_at is null and typed.has_ordered_at then 'invalid_type:ordered_at'
            when typed.amount is null and typed.has_amount then 'invalid_type:amount'
            when typed.amount not between 0 and 1000000000 then 'out_of_range:amount'
            when typed.status not in ('placed', 'fulfilled', 'cancelled') then 'invalid_value:status'
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
            partition by order_id, quarantine_reason is null
            order by loaded_at desc nulls last, source_row_number desc
        ) > 1 as is_superseded,
        {{ health_run_started_at() }} as staged_at
    from checked

)

select * from final

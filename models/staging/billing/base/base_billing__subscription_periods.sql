{{ config(**health_staging_incremental(
    source=['billing', 'subscription_periods'],
    key=['period_id'],
    references={
        'account_id': 'base_crm__accounts.account_id',
        'currency': 'exchange_rates.currency_code',
    },
)) }}

{#-
    Every raw row of billing.subscription_periods, typed, with the first contract rule it breaks
    (quarantine_reason, null when none) and whether a later version of the same
    period_id supersedes it. stg_billing__subscription_periods keeps the good, latest rows;
    quarantined_rows keeps the rest.
-#}

with source as (

    select
        *,
        {{ source_row_number() }}{{ health_row_offset() }} as source_row_number,
        {{ health_source_fingerprint() }} as source_fingerprint
    from {{ source('billing', 'subscription_periods') }}
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
        {{ raw_text('period_id') }} as period_id,
        {{ raw_text('subscription_id') }} as subscription_id,
        {{ raw_text('account_id') }} as account_id,
        {{ raw_text('plan_id') }} as plan_id,
        {{ cast_raw('seats', 'integer') }} as seats,
        {{ cast_raw('mrr', 'decimal') }} as mrr,
        upper({{ raw_text('currency') }}) as currency,
        {{ cast_raw('period_start', 'date') }} as period_start,
        {{ cast_raw('period_end', 'date') }} as period_end,
        {{ raw_text('cancel_reason') }} as cancel_reason,
        {{ raw_is_present('seats') }} as has_seats,
        {{ raw_is_present('mrr') }} as has_mrr,
        {{ raw_is_present('period_start') }} as has_period_start,
        {{ raw_is_present('period_end') }} as has_period_end,
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
            when typed.period_id is null then 'missing_required:period_id'
            when typed.subscription_id is null then 'missing_required:subscription_id'
            when typed.account_id is null then 'missing_required:account_id'
            when typed.plan_id is null then 'missing_required:plan_id'
            when not typed.has_mrr then 'missing_required:mrr'
            when typed.currency is null then 'missing_required:currency'
            when not typed.has_period_start then 'missing_required:period_start'
            when typed.seats is null and typed.has_seats then 'invalid_type:seats'
            when typed.mrr is null and typed.has_mrr then 'invalid_type:mrr'
            when typed.period_start is null and typed.has_period_start
                then 'invalid_type:period_start'
            when typed.period_end is null and typed.has_period_end then 'invalid_type:period_end'
            when typed.seats not between 0 and 1000000 then 'out_of_range:seats'
            when typed.mrr not between 0 and 100000000 then 'out_of_range:mrr'
            when typed.currency not in (select known_currencies.currency_code from known_currencies)
                then 'unknown_currency:currency'
            when typed.account_id is not null and ref_account_id.account_id is null
                then 'unknown_reference:account_id'
            when not ref_account_id.is_valid then 'quarantined_reference:account_id'
            when typed.period_end <= typed.period_start then 'end_before_start:period_end'
        end as quarantine_reason
    from restaged as typed
    left join known_accounts as ref_account_id
        on typed.account_id = ref_account_id.account_id

),

final as (

    select
        *,
        quarantine_reason is null and row_number() over (
            partition by period_id, quarantine_reason is null
            order by loaded_at desc nulls last, source_row_number desc
        ) > 1 as is_superseded,
        {{ health_run_started_at() }} as staged_at
    from checked

)

select * from final

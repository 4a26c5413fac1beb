{{ config(**health_staging_incremental(
    source=['crm', 'opportunities'],
    key=['opportunity_id'],
    references={
        'account_id': 'base_crm__accounts.account_id',
        'currency': 'exchange_rates.currency_code',
    },
)) }}

{#-
    Every raw row of crm.opportunities, typed, with the first contract rule it breaks
    (quarantine_reason, null when none) and whether a later version of the same
    opportunity_id supersedes it. stg_crm__opportunities keeps the good, latest rows;
    quarantined_rows keeps the rest.
-#}

with source as (

    select
        *,
        {{ source_row_number() }}{{ health_row_offset() }} as source_row_number,
        {{ health_source_fingerprint() }} as source_fingerprint
    from {{ source('crm', 'opportunities') }}
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
        {{ raw_text('opportunity_id') }} as opportunity_id,
        {{ raw_text('account_id') }} as account_id,
        {{ raw_text('opportunity_type') }} as opportunity_type,
        {{ raw_text('stage') }} as stage,
        {{ cast_raw('amount', 'decimal') }} as amount,
        upper({{ raw_text('currency') }}) as currency,
        {{ cast_raw('created_at', 'timestamp') }} as created_at,
        {{ cast_raw('close_date', 'date') }} as close_date,
        {{ raw_is_present('amount') }} as has_amount,
        {{ raw_is_present('created_at') }} as has_created_at,
        {{ raw_is_present('close_date') }} as has_close_date,
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
            when typed.opportunity_id is null then 'missing_required:opportunity_id'
            when typed.account_id is null then 'missing_required:account_id'
            when typed.opportunity_type is null then 'missing_required:opportunity_type'
            when typed.stage is null then 'missing_required:stage'
            when not typed.has_created_at then 'missing_required:created_at'
            when typed.amount is null and typed.has_amount then 'invalid_type:amount'
            when typed.created_at is null and typed.has_created_at then 'invalid_type:created_at'
            when typed.close_date is null and typed.has_close_date then 'invalid_type:close_date'
            when typed.amount not between 0 and 1000000000 then 'out_of_range:amount'
            when typed.opportunity_type not in ('new_business', 'renewal', 'expansion')
                then 'invalid_value:opportunity_type'
            when typed.stage not in ('open', 'won', 'lost') then 'invalid_value:stage'
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
            partition by opportunity_id, quarantine_reason is null
            order by loaded_at desc nulls last, source_row_number desc
        ) > 1 as is_superseded,
        {{ health_run_started_at() }} as staged_at
    from checked

)

select * from final

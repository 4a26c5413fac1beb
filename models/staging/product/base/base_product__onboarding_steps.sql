{{ config(**health_staging_incremental(
    source=['product', 'onboarding_steps'],
    key=['account_id', 'step_key'],
    references={
        'account_id': 'base_crm__accounts.account_id',
    },
)) }}

{#-
    Every raw row of product.onboarding_steps, typed, with the first contract rule it breaks
    (quarantine_reason, null when none) and whether a later version of the same
    account_id + step_key supersedes it. stg_product__onboarding_steps keeps the good, latest rows;
    quarantined_rows keeps the rest.
-#}

with source as (

    select
        *,
        {{ source_row_number() }}{{ health_row_offset() }} as source_row_number,
        {{ health_source_fingerprint() }} as source_fingerprint
    from {{ source('product', 'onboarding_steps') }}
    {{ health_new_rows() }}

),

known_accounts as (

    {{ health_known_keys('base_crm__accounts', 'account_id') }}

),

typed as (

    select
        source_row_number,
        source_fingerprint,
        {{ raw_text('account_id') }} as account_id,
        {{ raw_text('step_key') }} as step_key,
        {{ cast_raw('completed_at', 'timestamp') }} as completed_at,
        {{ raw_is_present('completed_at') }} as has_completed_at,
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
            when typed.account_id is null then 'missing_required:account_id'
            when typed.step_key is null then 'missing_required:step_key'
            when not typed.has_completed_at then 'missing_required:completed_at'
            when typed.completed_at is null and typed.has_completed_at
                then 'invalid_type:completed_at'
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
            partition by account_id, step_key, quarantine_reason is null
            order by loaded_at desc nulls last, source_row_number desc
        ) > 1 as is_superseded,
        {{ health_run_started_at() }} as staged_at
    from checked

)

select * from final

{{ config(**health_staging_incremental(
    source=['product', 'users'],
    key=['user_id'],
    references={
        'account_id': 'base_crm__accounts.account_id',
    },
)) }}

{#-
    Every raw row of product.users, typed, with the first contract rule it breaks
    (quarantine_reason, null when none) and whether a later version of the same
    user_id supersedes it. stg_product__users keeps the good, latest rows;
    quarantined_rows keeps the rest.
    Personal data (email) is never read.
-#}

with source as (

    select
        *,
        {{ source_row_number() }}{{ health_row_offset() }} as source_row_number,
        {{ health_source_fingerprint() }} as source_fingerprint
    from {{ source('product', 'users') }}
    {{ health_new_rows() }}

),

known_accounts as (

    {{ health_known_keys('base_crm__accounts', 'account_id') }}

),

typed as (

    select
        source_row_number,
        source_fingerprint,
        {{ raw_text('user_id') }} as user_id,
        {{ raw_text('account_id') }} as account_id,
        {{ cast_raw('created_at', 'timestamp') }} as created_at,
        {{ cast_raw('deactivated_at', 'timestamp') }} as deactivated_at,
        {{ raw_is_present('created_at') }} as has_created_at,
        {{ raw_is_present('deactivated_at') }} as has_deactivated_at,
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
            when typed.user_id is null then 'missing_required:user_id'
            when typed.account_id is null then 'missing_required:account_id'
            when not typed.has_created_at then 'missing_required:created_at'
            when typed.created_at is null and typed.has_created_at then 'invalid_type:created_at'
            when typed.deactivated_at is null and typed.has_deactivated_at
                then 'invalid_type:deactivated_at'
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
            partition by user_id, quarantine_reason is null
            order by loaded_at desc nulls last, source_row_number desc
        ) > 1 as is_superseded,
        {{ health_run_started_at() }} as staged_at
    from checked

)

select * from final

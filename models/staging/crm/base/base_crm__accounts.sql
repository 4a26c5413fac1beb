{{ config(**health_staging_incremental(source=['crm', 'accounts'], key=['account_id'])) }}

{#-
    Every raw row of crm.accounts, typed, with the first contract rule it breaks
    (quarantine_reason, null when none) and whether a later version of the same
    account_id supersedes it. stg_crm__accounts keeps the good, latest rows;
    quarantined_rows keeps the rest.
-#}

with source as (

    select
        *,
        {{ source_row_number() }}{{ health_row_offset() }} as source_row_number,
        {{ health_source_fingerprint() }} as source_fingerprint
    from {{ source('crm', 'accounts') }}
    {{ health_new_rows() }}

),

typed as (

    select
        source_row_number,
        source_fingerprint,
        {{ raw_text('account_id') }} as account_id,
        {{ raw_text('account_name') }} as account_name,
        {{ raw_text('industry') }} as industry,
        {{ raw_text('country_code') }} as country_code,
        {{ cast_raw('employee_count', 'integer') }} as employee_count,
        {{ raw_text('csm_owner') }} as csm_owner,
        {{ cast_raw('created_at', 'timestamp') }} as created_at,
        {{ raw_is_present('employee_count') }} as has_employee_count,
        {{ raw_is_present('created_at') }} as has_created_at,
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
            when typed.account_name is null then 'missing_required:account_name'
            when not typed.has_created_at then 'missing_required:created_at'
            when typed.employee_count is null and typed.has_employee_count
                then 'invalid_type:employee_count'
            when typed.created_at is null and typed.has_created_at then 'invalid_type:created_at'
            when typed.employee_count not between 1 and 10000000 then 'out_of_range:employee_count'
        end as quarantine_reason
    from restaged as typed

),

final as (

    select
        *,
        quarantine_reason is null and row_number() over (
            partition by account_id, quarantine_reason is null
            order by loaded_at desc nulls last, source_row_number desc
        ) > 1 as is_superseded,
        {{ health_run_started_at() }} as staged_at
    from checked

)

select * from final

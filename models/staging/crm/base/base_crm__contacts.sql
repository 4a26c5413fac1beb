{#-
    Every raw row of crm.contacts, typed, with the first contract rule it breaks
    (quarantine_reason, null when none) and whether a later version of the same
    contact_id supersedes it. stg_crm__contacts keeps the good, latest rows;
    quarantined_rows keeps the rest.
    Personal data (email, full_name) is never read.
-#}

with source as (

    select
        *,
        {{ source_row_number() }} as source_row_number
    from {{ source('crm', 'contacts') }}

),

known_accounts as (

    select
        account_id,
        bool_or(quarantine_reason is null) as is_valid
    from {{ ref('base_crm__accounts') }}
    where account_id is not null
    group by 1

),

typed as (

    select
        source_row_number,
        {{ raw_text('contact_id') }} as contact_id,
        {{ raw_text('account_id') }} as account_id,
        {{ raw_text('job_title') }} as job_title,
        {{ cast_raw('is_primary', 'boolean') }} as is_primary,
        {{ cast_raw('created_at', 'timestamp') }} as created_at,
        {{ raw_is_present('is_primary') }} as has_is_primary,
        {{ raw_is_present('created_at') }} as has_created_at,
        {{ cast_raw('_loaded_at', 'timestamp') }} as loaded_at
    from source

),

checked as (

    select
        typed.*,
        case
            when typed.contact_id is null then 'missing_required:contact_id'
            when typed.account_id is null then 'missing_required:account_id'
            when not typed.has_created_at then 'missing_required:created_at'
            when typed.is_primary is null and typed.has_is_primary then 'invalid_type:is_primary'
            when typed.created_at is null and typed.has_created_at then 'invalid_type:created_at'
            when typed.account_id is not null and ref_account_id.account_id is null
                then 'unknown_reference:account_id'
            when not ref_account_id.is_valid then 'quarantined_reference:account_id'
        end as quarantine_reason
    from typed
    left join known_accounts as ref_account_id
        on typed.account_id = ref_account_id.account_id

),

final as (

    select
        *,
        quarantine_reason is null and row_number() over (
            partition by contact_id, quarantine_reason is null
            order by loaded_at desc nulls last, source_row_number desc
        ) > 1 as is_superseded
    from checked

)

select * from final

{{ config(**health_staging_incremental(
    source=['surveys', 'nps_responses'],
    key=['response_id'],
    references={
        'account_id': 'base_crm__accounts.account_id',
        'contact_id': 'base_crm__contacts.contact_id',
    },
)) }}

{#-
    Every raw row of surveys.nps_responses, typed, with the first contract rule it breaks
    (quarantine_reason, null when none) and whether a later version of the same
    response_id supersedes it. stg_surveys__nps_responses keeps the good, latest rows;
    quarantined_rows keeps the rest.
-#}

with source as (

    select
        *,
        {{ source_row_number() }}{{ health_row_offset() }} as source_row_number,
        {{ health_source_fingerprint() }} as source_fingerprint
    from {{ source('surveys', 'nps_responses') }}
    {{ health_new_rows() }}

),

known_accounts as (

    {{ health_known_keys('base_crm__accounts', 'account_id') }}

),

known_contacts as (

    {{ health_known_keys('base_crm__contacts', 'contact_id') }}

),

typed as (

    select
        source_row_number,
        source_fingerprint,
        {{ raw_text('response_id') }} as response_id,
        {{ raw_text('account_id') }} as account_id,
        {{ raw_text('contact_id') }} as contact_id,
        {{ cast_raw('score', 'integer') }} as score,
        {{ raw_text('comment') }} as comment,
        {{ cast_raw('responded_at', 'timestamp') }} as responded_at,
        {{ raw_is_present('score') }} as has_score,
        {{ raw_is_present('responded_at') }} as has_responded_at,
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
            when typed.response_id is null then 'missing_required:response_id'
            when typed.account_id is null then 'missing_required:account_id'
            when not typed.has_score then 'missing_required:score'
            when not typed.has_responded_at then 'missing_required:responded_at'
            when typed.score is null and typed.has_score then 'invalid_type:score'
            when typed.responded_at is null and typed.has_responded_at
                then 'invalid_type:responded_at'
            when typed.score not between 0 and 10 then 'out_of_range:score'
            when typed.account_id is not null and ref_account_id.account_id is null
                then 'unknown_reference:account_id'
            when not ref_account_id.is_valid then 'quarantined_reference:account_id'
            when typed.contact_id is not null and ref_contact_id.contact_id is null
                then 'unknown_reference:contact_id'
            when not ref_contact_id.is_valid then 'quarantined_reference:contact_id'
        end as quarantine_reason
    from restaged as typed
    left join known_accounts as ref_account_id
        on typed.account_id = ref_account_id.account_id
    left join known_contacts as ref_contact_id
        on typed.contact_id = ref_contact_id.contact_id

),

final as (

    select
        *,
        quarantine_reason is null and row_number() over (
            partition by response_id, quarantine_reason is null
            order by loaded_at desc nulls last, source_row_number desc
        ) > 1 as is_superseded,
        {{ health_run_started_at() }} as staged_at
    from checked

)

select * from final

{{ config(**health_staging_incremental(
    source=['crm', 'activities'],
    key=['activity_id'],
    references={
        'account_id': 'base_crm__accounts.account_id',
        'contact_id': 'base_crm__contacts.contact_id',
    },
)) }}

{#-
    Every raw row of crm.activities, typed, with the first contract rule it breaks
    (quarantine_reason, null when none) and whether a later version of the same
    activity_id supersedes it. stg_crm__activities keeps the good, latest rows;
    quarantined_rows keeps the rest.
-#}

with source as (

    select
        *,
        {{ source_row_number() }}{{ health_row_offset() }} as source_row_number,
        {{ health_source_fingerprint() }} as source_fingerprint
    from {{ source('crm', 'activities') }}
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
        {{ raw_text('activity_id') }} as activity_id,
        {{ raw_text('account_id') }} as account_id,
        {{ raw_text('contact_id') }} as contact_id,
        {{ raw_text('activity_type') }} as activity_type,
        {{ raw_text('direction') }} as direction,
        {{ cast_raw('occurred_at', 'timestamp') }} as occurred_at,
        {{ raw_is_present('occurred_at') }} as has_occurred_at,
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
            when typed.activity_id is null then 'missing_required:activity_id'
            when typed.account_id is null then 'missing_required:account_id'
            when typed.activity_type is null then 'missing_required:activity_type'
            when not typed.has_occurred_at then 'missing_required:occurred_at'
            when typed.occurred_at is null and typed.has_occurred_at
                then 'invalid_type:occurred_at'
            when
                typed.activity_type not in (
                    'email',
                    'call',
                    'meeting',
                    'business_review',
                    'training',
                    'webinar',
                    'campaign_open',
                    'campaign_click'
                )
                then 'invalid_value:activity_type'
            when typed.direction not in ('inbound', 'outbound') then 'invalid_value:direction'
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
            partition by activity_id, quarantine_reason is null
            order by loaded_at desc nulls last, source_row_number desc
        ) > 1 as is_superseded,
        {{ health_run_started_at() }} as staged_at
    from checked

)

select * from final

{#-
    Every raw row of crm.activities, typed, with the first contract rule it breaks
    (quarantine_reason, null when none) and whether a later version of the same
    activity_id supersedes it. stg_crm__activities keeps the good, latest rows;
    quarantined_rows keeps the rest.
-#}

with source as (

    select
        *,
        {{ source_row_number() }} as source_row_number
    from {{ source('crm', 'activities') }}

),

known_accounts as (

    select
        account_id,
        bool_or(quarantine_reason is null) as is_valid
    from {{ ref('base_crm__accounts') }}
    where account_id is not null
    group by 1

),

known_contacts as (

    select
        contact_id,
        bool_or(quarantine_reason is null) as is_valid
    from {{ ref('base_crm__contacts') }}
    where contact_id is not null
    group by 1

),

typed as (

    select
        source_row_number,
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
    from typed
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
        ) > 1 as is_superseded
    from checked

)

select * from final

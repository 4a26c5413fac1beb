{{ config(**health_staging_incremental(
    source=['support', 'tickets'],
    key=['ticket_id'],
    references={
        'account_id': 'base_crm__accounts.account_id',
        'requester_contact_id': 'base_crm__contacts.contact_id',
    },
)) }}

{#-
    Every raw row of support.tickets, typed, with the first contract rule it breaks
    (quarantine_reason, null when none) and whether a later version of the same
    ticket_id supersedes it. stg_support__tickets keeps the good, latest rows;
    quarantined_rows keeps the rest.
-#}

with source as (

    select
        *,
        {{ source_row_number() }}{{ health_row_offset() }} as source_row_number,
        {{ health_source_fingerprint() }} as source_fingerprint
    from {{ source('support', 'tickets') }}
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
        {{ raw_text('ticket_id') }} as ticket_id,
        {{ raw_text('account_id') }} as account_id,
        {{ raw_text('requester_contact_id') }} as requester_contact_id,
        {{ raw_text('channel') }} as channel,
        {{ raw_text('priority') }} as priority,
        {{ raw_text('status') }} as status,
        {{ cast_raw('created_at', 'timestamp') }} as created_at,
        {{ cast_raw('first_response_at', 'timestamp') }} as first_response_at,
        {{ cast_raw('solved_at', 'timestamp') }} as solved_at,
        {{ cast_raw('agent_reply_count', 'integer') }} as agent_reply_count,
        {{ cast_raw('reopen_count', 'integer') }} as reopen_count,
        {{ raw_is_present('created_at') }} as has_created_at,
        {{ raw_is_present('first_response_at') }} as has_first_response_at,
        {{ raw_is_present('solved_at') }} as has_solved_at,
        {{ raw_is_present('agent_reply_count') }} as has_agent_reply_count,
        {{ raw_is_present('reopen_count') }} as has_reopen_count,
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
            when typed.ticket_id is null then 'missing_required:ticket_id'
            when typed.account_id is null then 'missing_required:account_id'
            when typed.status is null then 'missing_required:status'
            when not typed.has_created_at then 'missing_required:created_at'
            when typed.created_at is null and typed.has_created_at then 'invalid_type:created_at'
            when typed.first_response_at is null and typed.has_first_response_at
                then 'invalid_type:first_response_at'
            when typed.solved_at is null and typed.has_solved_at then 'invalid_type:solved_at'
            when typed.agent_reply_count is null and typed.has_agent_reply_count
                then 'invalid_type:agent_reply_count'
            when typed.reopen_count is null and typed.has_reopen_count
                then 'invalid_type:reopen_count'
            when typed.agent_reply_count not between 0 and 100000 then 'out_of_range:agent_reply_count'
            when typed.reopen_count not between 0 and 100000 then 'out_of_range:reopen_count'
            when typed.channel not in ('email', 'chat', 'phone', 'web') then 'invalid_value:channel'
            when typed.priority not in ('low', 'normal', 'high', 'urgent') then 'invalid_value:priority'
            when typed.status not in ('new', 'open', 'pending', 'solved', 'closed')
                then 'invalid_value:status'
            when typed.account_id is not null and ref_account_id.account_id is null
                then 'unknown_reference:account_id'
            when not ref_account_id.is_valid then 'quarantined_reference:account_id'
            when typed.requester_contact_id is not null and ref_requester_contact_id.contact_id is null
                then 'unknown_reference:requester_contact_id'
            when not ref_requester_contact_id.is_valid then 'quarantined_reference:requester_contact_id'
            when typed.solved_at < typed.created_at then 'solved_before_created:solved_at'
        end as quarantine_reason
    from restaged as typed
    left join known_accounts as ref_account_id
        on typed.account_id = ref_account_id.account_id
    left join known_contacts as ref_requester_contact_id
        on typed.requester_contact_id = ref_requester_contact_id.contact_id

),

final as (

    select
        *,
        quarantine_reason is null and row_number() over (
            partition by ticket_id, quarantine_reason is null
            order by loaded_at desc nulls last, source_row_number desc
        ) > 1 as is_superseded,
        {{ health_run_started_at() }} as staged_at
    from checked

)

select * from final

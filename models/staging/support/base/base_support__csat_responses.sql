{{ config(**health_staging_incremental(
    source=['support', 'csat_responses'],
    key=['response_id'],
    references={
        'ticket_id': 'base_support__tickets.ticket_id',
    },
)) }}

{#-
    Every raw row of support.csat_responses, typed, with the first contract rule it breaks
    (quarantine_reason, null when none) and whether a later version of the same
    response_id supersedes it. stg_support__csat_responses keeps the good, latest rows;
    quarantined_rows keeps the rest.
-#}

with source as (

    select
        *,
        {{ source_row_number() }}{{ health_row_offset() }} as source_row_number,
        {{ health_source_fingerprint() }} as source_fingerprint
    from {{ source('support', 'csat_responses') }}
    {{ health_new_rows() }}

),

known_tickets as (

    {{ health_known_keys('base_support__tickets', 'ticket_id') }}

),

typed as (

    select
        source_row_number,
        source_fingerprint,
        {{ raw_text('response_id') }} as response_id,
        {{ raw_text('ticket_id') }} as ticket_id,
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
            when typed.ticket_id is null then 'missing_required:ticket_id'
            when not typed.has_score then 'missing_required:score'
            when not typed.has_responded_at then 'missing_required:responded_at'
            when typed.score is null and typed.has_score then 'invalid_type:score'
            when typed.responded_at is null and typed.has_responded_at
                then 'invalid_type:responded_at'
            when typed.score not between 1 and 5 then 'out_of_range:score'
            when typed.ticket_id is not null and ref_ticket_id.ticket_id is null
                then 'unknown_reference:ticket_id'
            when not ref_ticket_id.is_valid then 'quarantined_reference:ticket_id'
        end as quarantine_reason
    from restaged as typed
    left join known_tickets as ref_ticket_id
        on typed.ticket_id = ref_ticket_id.ticket_id

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

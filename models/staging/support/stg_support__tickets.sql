{#- support.tickets: the good, latest version of every row (see base_support__tickets). -#}

with base as (

    select * from {{ ref('base_support__tickets') }}

),

final as (

    select
        ticket_id,
        account_id,
        requester_contact_id,
        channel,
        priority,
        status,
        created_at,
        first_response_at,
        solved_at,
        agent_reply_count,
        reopen_count,
        loaded_at,
        staged_at
    from base
    where quarantine_reason is null and not is_superseded

)

select * from final

{#- support.csat_responses: the good, latest version of every row (see base_support__csat_responses). -#}

with base as (

    select * from {{ ref('base_support__csat_responses') }}

),

final as (

    select
        response_id,
        ticket_id,
        score,
        comment,
        responded_at,
        loaded_at,
        staged_at
    from base
    where quarantine_reason is null and not is_superseded

)

select * from final

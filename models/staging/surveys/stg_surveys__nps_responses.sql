{#- surveys.nps_responses: the good, latest version of every row (see base_surveys__nps_responses). -#}

with base as (

    select * from {{ ref('base_surveys__nps_responses') }}

),

final as (

    select
        response_id,
        account_id,
        contact_id,
        score,
        comment,
        responded_at,
        loaded_at,
        staged_at
    from base
    where quarantine_reason is null and not is_superseded

)

select * from final

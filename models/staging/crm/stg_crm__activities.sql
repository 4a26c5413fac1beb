{#- crm.activities: the good, latest version of every row (see base_crm__activities). -#}

with base as (

    select * from {{ ref('base_crm__activities') }}

),

final as (

    select
        activity_id,
        account_id,
        contact_id,
        activity_type,
        direction,
        occurred_at,
        loaded_at,
        staged_at
    from base
    where quarantine_reason is null and not is_superseded

)

select * from final

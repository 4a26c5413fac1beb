{#- crm.contacts: the good, latest version of every row (see base_crm__contacts). -#}

with base as (

    select * from {{ ref('base_crm__contacts') }}

),

final as (

    select
        contact_id,
        account_id,
        job_title,
        is_primary,
        created_at,
        loaded_at,
        staged_at
    from base
    where quarantine_reason is null and not is_superseded

)

select * from final

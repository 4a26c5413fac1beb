{#- crm.accounts: the good, latest version of every row (see base_crm__accounts). -#}

with base as (

    select * from {{ ref('base_crm__accounts') }}

),

final as (

    select
        account_id,
        account_name,
        industry,
        country_code,
        employee_count,
        csm_owner,
        created_at,
        loaded_at,
        staged_at
    from base
    where quarantine_reason is null and not is_superseded

)

select * from final

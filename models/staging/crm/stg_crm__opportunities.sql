{#- crm.opportunities: the good, latest version of every row (see base_crm__opportunities). -#}

with base as (

    select * from {{ ref('base_crm__opportunities') }}

),

final as (

    select
        opportunity_id,
        account_id,
        opportunity_type,
        stage,
        amount,
        currency,
        created_at,
        close_date,
        loaded_at,
        staged_at
    from base
    where quarantine_reason is null and not is_superseded

)

select * from final

{#- billing.returns: the good, latest version of every row (see base_billing__returns). -#}

with base as (

    select * from {{ ref('base_billing__returns') }}

),

final as (

    select
        return_id,
        order_id,
        returned_at,
        amount,
        reason,
        loaded_at,
        staged_at
    from base
    where quarantine_reason is null and not is_superseded

)

select * from final

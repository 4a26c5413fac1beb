{#- product.users: the good, latest version of every row (see base_product__users). -#}

with base as (

    select * from {{ ref('base_product__users') }}

),

final as (

    select
        user_id,
        account_id,
        created_at,
        deactivated_at,
        loaded_at,
        staged_at
    from base
    where quarantine_reason is null and not is_superseded

)

select * from final

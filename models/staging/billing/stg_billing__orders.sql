{#- billing.orders: the good, latest version of every row (see base_billing__orders). -#}

with base as (

    select * from {{ ref('base_billing__orders') }}

),

final as (

    select
        order_id,
        account_id,
        ordered_at,
        amount,
        currency,
        status,
        loaded_at,
        staged_at
    from base
    where quarantine_reason is null and not is_superseded

)

select * from final

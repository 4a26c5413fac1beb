{#- product.feedback: the good, latest version of every row (see base_product__feedback). -#}

with base as (

    select * from {{ ref('base_product__feedback') }}

),

final as (

    select
        feedback_id,
        account_id,
        user_id,
        sentiment,
        body,
        submitted_at,
        loaded_at,
        staged_at
    from base
    where quarantine_reason is null and not is_superseded

)

select * from final

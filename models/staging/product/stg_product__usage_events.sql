{#- product.usage_events: the good, latest version of every row (see base_product__usage_events). -#}

with base as (

    select * from {{ ref('base_product__usage_events') }}

),

final as (

    select
        event_id,
        user_id,
        account_id,
        feature_key,
        occurred_at,
        loaded_at,
        staged_at
    from base
    where quarantine_reason is null and not is_superseded

)

select * from final

{#- product.features: the good, latest version of every row (see base_product__features). -#}

with base as (

    select * from {{ ref('base_product__features') }}

),

final as (

    select
        feature_key,
        feature_name,
        is_core,
        released_at,
        loaded_at,
        staged_at
    from base
    where quarantine_reason is null and not is_superseded

)

select * from final

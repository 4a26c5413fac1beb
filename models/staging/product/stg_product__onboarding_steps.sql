{#- product.onboarding_steps: the good, latest version of every row (see base_product__onboarding_steps). -#}

with base as (

    select * from {{ ref('base_product__onboarding_steps') }}

),

final as (

    select
        account_id,
        step_key,
        completed_at,
        loaded_at,
        staged_at
    from base
    where quarantine_reason is null and not is_superseded

)

select * from final

{#- billing.subscription_periods: the good, latest version of every row (see base_billing__subscription_periods). -#}

with base as (

    select * from {{ ref('base_billing__subscription_periods') }}

),

final as (

    select
        period_id,
        subscription_id,
        account_id,
        plan_id,
        seats,
        mrr,
        currency,
        period_start,
        period_end,
        cancel_reason,
        loaded_at,
        staged_at
    from base
    where quarantine_reason is null and not is_superseded

)

select * from final

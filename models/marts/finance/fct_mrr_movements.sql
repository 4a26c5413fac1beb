{#-
    Published: the MRR movement of every account in every calendar month, from its
    first month with MRR > 0 through the month of the latest as-of date. The
    logic lives in int_mrr_movements (docs: mrr_movement_types), which the CLV
    tier churn rates also read; this is its public, contracted shape.
-#}

with movements as (

    select * from {{ ref('int_mrr_movements') }}

),

final as (

    select
        month,
        account_id,
        mrr_date,
        is_partial_month,
        mrr,
        previous_mrr,
        movement_type,
        movement_amount,
        fx_adjustment
    from movements

)

select * from final

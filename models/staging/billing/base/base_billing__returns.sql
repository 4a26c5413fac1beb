{{ config(**health_staging_incremental(
    source=['billing', 'returns'],
    key=['return_id'],
    references={
        'order_id': 'base_billing__orders.order_id',
    },
)) }}

{#-
    Every raw row of billing.returns, typed, with the first contract rule it breaks
    (quarantine_reason, null when none) and whether a later version of the same
    return_id supersedes it. stg_billing__returns keeps the good, latest rows;
    quarantined_rows keeps the rest.
-#}

with source as (

    select
        *,
        {{ source_row_number() }}{{ health_row_offset() }} as source_row_number,
        {{ health_source_fingerprint() }} as source_fingerprint
    from {{ source('billing', 'returns') }}
    {{ health_new_rows() }}

),

known_orders as (

    {{ health_known_keys('base_billing__orders', 'order_id') }}

),

typed as (

    select
        source_row_number,
        source_fingerprint,
        {{ raw_text('return_id') }} as return_id,
        {{ raw_text('order_id') }} as order_id,
        {{ cast_raw('returned_at', 'timestamp') }} as returned_at,
        {{ cast_raw('amount', 'decimal') }} as amount,
        {{ raw_text('reason') }} as reason,
        {{ raw_is_present('returned_at') }} as has_returned_at,
        {{ raw_is_present('amount') }} as has_amount,
        {{ cast_raw('_loaded_at', 'timestamp') }} as loaded_at
    from source

),

restaged as (

    select * from typed
    {{ health_restaged_stored() }}

),

checked as (

    select
        typed.*,
        case
            when typed.return_id is null then 'missing_required:return_id'
            when typed.order_id is null then 'missing_required:order_id'
            when not typed.has_returned_at then 'missing_required:returned_at'
            when not typed.has_amount then 'missing_required:amount'
            when typed.returned_at is null and typed.has_returned_at
                then 'invalid_type:returned_at'
            when typed.amount is null and typed.has_amount then 'invalid_type:amount'
            when typed.amount not between 0 and 1000000000 then 'out_of_range:amount'
            when typed.order_id is not null and ref_order_id.order_id is null
                then 'unknown_reference:order_id'
            when not ref_order_id.is_valid then 'quarantined_reference:order_id'
        end as quarantine_reason
    from restaged as typed
    left join known_orders as ref_order_id
        on typed.order_id = ref_order_id.order_id

),

final as (

    select
        *,
        quarantine_reason is null and row_number() over (
            partition by return_id, quarantine_reason is null
            order by loaded_at desc nulls last, source_row_number desc
        ) > 1 as is_superseded,
        {{ health_run_started_at() }} as staged_at
    from checked

)

select * from final

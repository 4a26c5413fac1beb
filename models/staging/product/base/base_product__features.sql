{{ config(**health_staging_incremental(source=['product', 'features'], key=['feature_key'])) }}

{#-
    Every raw row of product.features, typed, with the first contract rule it breaks
    (quarantine_reason, null when none) and whether a later version of the same
    feature_key supersedes it. stg_product__features keeps the good, latest rows;
    quarantined_rows keeps the rest.
-#}

with source as (

    select
        *,
        {{ source_row_number() }}{{ health_row_offset() }} as source_row_number,
        {{ health_source_fingerprint() }} as source_fingerprint
    from {{ source('product', 'features') }}
    {{ health_new_rows() }}

),

typed as (

    select
        source_row_number,
        source_fingerprint,
        {{ raw_text('feature_key') }} as feature_key,
        {{ raw_text('feature_name') }} as feature_name,
        {{ cast_raw('is_core', 'boolean') }} as is_core,
        {{ cast_raw('released_at', 'date') }} as released_at,
        {{ raw_is_present('is_core') }} as has_is_core,
        {{ raw_is_present('released_at') }} as has_released_at,
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
            when typed.feature_key is null then 'missing_required:feature_key'
            when typed.feature_name is null then 'missing_required:feature_name'
            when not typed.has_is_core then 'missing_required:is_core'
            when typed.is_core is null and typed.has_is_core then 'invalid_type:is_core'
            when typed.released_at is null and typed.has_released_at
                then 'invalid_type:released_at'
        end as quarantine_reason
    from restaged as typed

),

final as (

    select
        *,
        quarantine_reason is null and row_number() over (
            partition by feature_key, quarantine_reason is null
            order by loaded_at desc nulls last, source_row_number desc
        ) > 1 as is_superseded,
        {{ health_run_started_at() }} as staged_at
    from checked

)

select * from final

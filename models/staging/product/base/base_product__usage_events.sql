{{ config(**health_staging_incremental(
    source=['product', 'usage_events'],
    key=['event_id'],
    references={
        'user_id': 'base_product__users.user_id',
        'account_id': 'base_crm__accounts.account_id',
        'feature_key': 'base_product__features.feature_key',
    },
)) }}

{#-
    Every raw row of product.usage_events, typed, with the first contract rule it breaks
    (quarantine_reason, null when none) and whether a later version of the same
    event_id supersedes it. stg_product__usage_events keeps the good, latest rows;
    quarantined_rows keeps the rest.
-#}

with source as (

    select
        *,
        {{ source_row_number() }}{{ health_row_offset() }} as source_row_number,
        {{ health_source_fingerprint() }} as source_fingerprint
    from {{ source('product', 'usage_events') }}
    {{ health_new_rows() }}

),

known_users as (

    {{ health_known_keys('base_product__users', 'user_id') }}

),

known_accounts as (

    {{ health_known_keys('base_crm__accounts', 'account_id') }}

),

known_features as (

    {{ health_known_keys('base_product__features', 'feature_key') }}

),

typed as (

    select
        source_row_number,
        source_fingerprint,
        {{ raw_text('event_id') }} as event_id,
        {{ raw_text('user_id') }} as user_id,
        {{ raw_text('account_id') }} as account_id,
        {{ raw_text('feature_key') }} as feature_key,
        {{ cast_raw('occurred_at', 'timestamp') }} as occurred_at,
        {{ raw_is_present('occurred_at') }} as has_occurred_at,
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
            when typed.event_id is null then 'missing_required:event_id'
            when typed.user_id is null then 'missing_required:user_id'
            when typed.account_id is null then 'missing_required:account_id'
            when typed.feature_key is null then 'missing_required:feature_key'
            when not typed.has_occurred_at then 'missing_required:occurred_at'
            when typed.occurred_at is null and typed.has_occurred_at
                then 'invalid_type:occurred_at'
            when typed.user_id is not null and ref_user_id.user_id is null then 'unknown_reference:user_id'
            when not ref_user_id.is_valid then 'quarantined_reference:user_id'
            when typed.account_id is not null and ref_account_id.account_id is null
                then 'unknown_reference:account_id'
            when not ref_account_id.is_valid then 'quarantined_reference:account_id'
            when typed.feature_key is not null and ref_feature_key.feature_key is null
                then 'unknown_reference:feature_key'
            when not ref_feature_key.is_valid then 'quarantined_reference:feature_key'
        end as quarantine_reason
    from restaged as typed
    left join known_users as ref_user_id
        on typed.user_id = ref_user_id.user_id
    left join known_accounts as ref_account_id
        on typed.account_id = ref_account_id.account_id
    left join known_features as ref_feature_key
        on typed.feature_key = ref_feature_key.feature_key

),

final as (

    select
        *,
        quarantine_reason is null and row_number() over (
            partition by event_id, quarantine_reason is null
            order by loaded_at desc nulls last, source_row_number desc
        ) > 1 as is_superseded,
        {{ health_run_started_at() }} as staged_at
    from checked

)

select * from final

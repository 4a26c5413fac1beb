{{ config(**health_staging_incremental(
    source=['product', 'feedback'],
    key=['feedback_id'],
    references={
        'account_id': 'base_crm__accounts.account_id',
        'user_id': 'base_product__users.user_id',
    },
)) }}

{#-
    Every raw row of product.feedback, typed, with the first contract rule it breaks
    (quarantine_reason, null when none) and whether a later version of the same
    feedback_id supersedes it. stg_product__feedback keeps the good, latest rows;
    quarantined_rows keeps the rest.
-#}

with source as (

    select
        *,
        {{ source_row_number() }}{{ health_row_offset() }} as source_row_number,
        {{ health_source_fingerprint() }} as source_fingerprint
    from {{ source('product', 'feedback') }}
    {{ health_new_rows() }}

),

known_accounts as (

    {{ health_known_keys('base_crm__accounts', 'account_id') }}

),

known_users as (

    {{ health_known_keys('base_product__users', 'user_id') }}

),

typed as (

    select
        source_row_number,
        source_fingerprint,
        {{ raw_text('feedback_id') }} as feedback_id,
        {{ raw_text('account_id') }} as account_id,
        {{ raw_text('user_id') }} as user_id,
        {{ raw_text('sentiment') }} as sentiment,
        {{ raw_text('body') }} as body,
        {{ cast_raw('submitted_at', 'timestamp') }} as submitted_at,
        {{ raw_is_present('submitted_at') }} as has_submitted_at,
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
            when typed.feedback_id is null then 'missing_required:feedback_id'
            when typed.account_id is null then 'missing_required:account_id'
            when typed.sentiment is null then 'missing_required:sentiment'
            when not typed.has_submitted_at then 'missing_required:submitted_at'
            when typed.submitted_at is null and typed.has_submitted_at
                then 'invalid_type:submitted_at'
            when typed.sentiment not in ('positive', 'neutral', 'negative') then 'invalid_value:sentiment'
            when typed.account_id is not null and ref_account_id.account_id is null
                then 'unknown_reference:account_id'
            when not ref_account_id.is_valid then 'quarantined_reference:account_id'
            when typed.user_id is not null and ref_user_id.user_id is null then 'unknown_reference:user_id'
            when not ref_user_id.is_valid then 'quarantined_reference:user_id'
        end as quarantine_reason
    from restaged as typed
    left join known_accounts as ref_account_id
        on typed.account_id = ref_account_id.account_id
    left join known_users as ref_user_id
        on typed.user_id = ref_user_id.user_id

),

final as (

    select
        *,
        quarantine_reason is null and row_number() over (
            partition by feedback_id, quarantine_reason is null
            order by loaded_at desc nulls last, source_row_number desc
        ) > 1 as is_superseded,
        {{ health_run_started_at() }} as staged_at
    from checked

)

select * from final

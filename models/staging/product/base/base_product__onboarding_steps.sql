{#-
    Every raw row of product.onboarding_steps, typed, with the first contract rule it breaks
    (quarantine_reason, null when none) and whether a later version of the same
    account_id + step_key supersedes it. stg_product__onboarding_steps keeps the good, latest rows;
    quarantined_rows keeps the rest.
-#}

with source as (

    select
        *,
        {{ source_row_number() }} as source_row_number
    from {{ source('product', 'onboarding_steps') }}

),

known_accounts as (

    select
        account_id,
        bool_or(quarantine_reason is null) as is_valid
    from {{ ref('base_crm__accounts') }}
    where account_id is not null
    group by 1

),

typed as (

    select
        source_row_number,
        {{ raw_text('account_id') }} as account_id,
        {{ raw_text('step_key') }} as step_key,
        {{ cast_raw('completed_at', 'timestamp') }} as completed_at,
        {{ raw_is_present('completed_at') }} as has_completed_at,
        {{ cast_raw('_loaded_at', 'timestamp') }} as loaded_at
    from source

),

checked as (

    select
        typed.*,
        case
            when typed.account_id is null then 'missing_required:account_id'
            when typed.step_key is null then 'missing_required:step_key'
            when not typed.has_completed_at then 'missing_required:completed_at'
            when typed.completed_at is null and typed.has_completed_at
                then 'invalid_type:completed_at'
            when typed.account_id is not null and ref_account_id.account_id is null
                then 'unknown_reference:account_id'
            when not ref_account_id.is_valid then 'quarantined_reference:account_id'
        end as quarantine_reason
    from typed
    left join known_accounts as ref_account_id
        on typed.account_id = ref_account_id.account_id

),

final as (

    select
        *,
        quarantine_reason is null and row_number() over (
            partition by account_id, step_key, quarantine_reason is null
            order by loaded_at desc nulls last, source_row_number desc
        ) > 1 as is_superseded
    from checked

)

select * from final

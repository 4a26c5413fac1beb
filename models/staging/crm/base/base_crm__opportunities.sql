{#-
    Every raw row of crm.opportunities, typed, with the first contract rule it breaks
    (quarantine_reason, null when none) and whether a later version of the same
    opportunity_id supersedes it. stg_crm__opportunities keeps the good, latest rows;
    quarantined_rows keeps the rest.
-#}

with source as (

    select
        *,
        {{ source_row_number() }} as source_row_number
    from {{ source('crm', 'opportunities') }}

),

known_accounts as (

    select
        account_id,
        bool_or(quarantine_reason is null) as is_valid
    from {{ ref('base_crm__accounts') }}
    where account_id is not null
    group by 1

),

known_currencies as (

    select distinct currency_code from {{ ref('exchange_rates') }}

),

typed as (

    select
        source_row_number,
        {{ raw_text('opportunity_id') }} as opportunity_id,
        {{ raw_text('account_id') }} as account_id,
        {{ raw_text('opportunity_type') }} as opportunity_type,
        {{ raw_text('stage') }} as stage,
        {{ cast_raw('amount', 'decimal') }} as amount,
        upper({{ raw_text('currency') }}) as currency,
        {{ cast_raw('created_at', 'timestamp') }} as created_at,
        {{ cast_raw('close_date', 'date') }} as close_date,
        {{ raw_is_present('amount') }} as has_amount,
        {{ raw_is_present('created_at') }} as has_created_at,
        {{ raw_is_present('close_date') }} as has_close_date,
        {{ cast_raw('_loaded_at', 'timestamp') }} as loaded_at
    from source

),

checked as (

    select
        typed.*,
        case
            when typed.opportunity_id is null then 'missing_required:opportunity_id'
            when typed.account_id is null then 'missing_required:account_id'
            when typed.opportunity_type is null then 'missing_required:opportunity_type'
            when typed.stage is null then 'missing_required:stage'
            when not typed.has_created_at then 'missing_required:created_at'
            when typed.amount is null and typed.has_amount then 'invalid_type:amount'
            when typed.created_at is null and typed.has_created_at then 'invalid_type:created_at'
            when typed.close_date is null and typed.has_close_date then 'invalid_type:close_date'
            when typed.amount not between 0 and 1000000000 then 'out_of_range:amount'
            when typed.opportunity_type not in ('new_business', 'renewal', 'expansion')
                then 'invalid_value:opportunity_type'
            when typed.stage not in ('open', 'won', 'lost') then 'invalid_value:stage'
            when typed.currency not in (select known_currencies.currency_code from known_currencies)
                then 'unknown_currency:currency'
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
            partition by opportunity_id, quarantine_reason is null
            order by loaded_at desc nulls last, source_row_number desc
        ) > 1 as is_superseded
    from checked

)

select * from final

{#-
    Published: one row per account that exists on the latest as-of date (created
    on or before it), with its CRM attributes (no PII) and its subscription
    figures as of that date.
-#}

with accounts as (

    select * from {{ ref('stg_crm__accounts') }}

),

subscription_metrics as (

    select * from {{ ref('int_subscription_metrics') }}

),

clv_metrics as (

    select * from {{ ref('int_clv_metrics') }}

),

latest_subscription as (

    select
        account_id,
        as_of_date,
        mrr,
        seats,
        is_customer,
        was_customer,
        first_paid_date,
        value_tier,
        currency
    from subscription_metrics
    where is_latest

),

latest_clv as (

    select
        account_id,
        clv
    from clv_metrics
    where is_latest

),

final as (

    select
        accounts.account_id,
        accounts.account_name,
        accounts.industry,
        accounts.country_code,
        accounts.employee_count,
        accounts.csm_owner,
        accounts.created_at,
        latest_subscription.as_of_date,
        latest_subscription.currency,
        latest_subscription.first_paid_date,
        latest_subscription.mrr,
        latest_subscription.seats,
        latest_subscription.is_customer,
        latest_subscription.was_customer,
        latest_subscription.value_tier,
        latest_clv.clv
    from accounts
    inner join latest_subscription
        on accounts.account_id = latest_subscription.account_id
    left join latest_clv
        on accounts.account_id = latest_clv.account_id

)

select * from final

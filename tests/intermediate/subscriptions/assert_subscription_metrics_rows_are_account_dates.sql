{#-
    int_subscription_metrics builds its rows from each account's first as-of date on
    (for speed, without joining int_account_as_of_dates). This proves that they are
    exactly the rows of int_account_as_of_dates: returns any key found on one side only.
-#}

with account_dates as (

    select * from {{ ref('int_account_as_of_dates') }}

),

subscription_metrics as (

    select * from {{ ref('int_subscription_metrics') }}

),

final as (

    select
        coalesce(account_dates.account_id, subscription_metrics.account_id) as account_id,
        coalesce(account_dates.as_of_date, subscription_metrics.as_of_date) as as_of_date,
        case
            when subscription_metrics.account_id is null then 'missing from int_subscription_metrics'
            when account_dates.account_id is null then 'not in int_account_as_of_dates'
            else 'is_latest differs'
        end as problem
    from account_dates
    full outer join subscription_metrics
        on
            account_dates.account_id = subscription_metrics.account_id
            and account_dates.as_of_date = subscription_metrics.as_of_date
    where
        account_dates.account_id is null
        or subscription_metrics.account_id is null
        or account_dates.is_latest != subscription_metrics.is_latest

)

select * from final

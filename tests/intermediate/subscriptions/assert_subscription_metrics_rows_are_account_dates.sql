{#-
    int_subscription_metrics builds its rows from each account's first as-of date on
    (for speed, without joining int_account_as_of_dates). This proves that they are
    exactly the rows of int_account_as_of_dates: returns any key found on one side only.
    On the dates this run wrote into int_subscription_metrics (health_test_relation),
    every date on a build from scratch or under `dbt test`; older dates were compared by
    the run that wrote them, and a correction older than the look-back reaches the
    metrics only with --full-refresh or health_rescore_from (D31).
-#}

with account_dates as (

    select * from {{ ref('int_account_as_of_dates') }}
    where as_of_date >= {{ health_recorded_from('int_subscription_metrics') }}

),

subscription_metrics as (

    select subscription_metrics.*
    from {{ health_test_relation(ref('int_subscription_metrics')) }} as subscription_metrics

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

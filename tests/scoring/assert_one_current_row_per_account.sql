{#- mart_customer_health has exactly one row for every account that exists on the
    latest as-of date, and no other. -#}

with account_dates as (

    select * from {{ ref('int_account_as_of_dates') }}

),

customer_health as (

    select * from {{ ref('mart_customer_health') }}

),

expected as (

    select account_id
    from account_dates
    where is_latest

),

actual as (

    select
        account_id,
        count(*) as row_count
    from customer_health
    group by account_id

),

final as (

    select
        coalesce(expected.account_id, actual.account_id) as account_id,
        actual.row_count
    from expected
    full outer join actual
        on expected.account_id = actual.account_id
    where
        expected.account_id is null
        or actual.account_id is null
        or actual.row_count <> 1

)

select * from final

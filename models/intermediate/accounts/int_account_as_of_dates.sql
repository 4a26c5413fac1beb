{{ config(**health_as_of_incremental()) }}

{#-
    The grain of every account metric: one row per account and as-of date, from
    the day the account was created. Each metric family returns exactly these rows,
    with its metrics null only where the health model says a metric is missing.
    Incremental like the families that read it (doc('health_incremental')): a run
    writes the dates they recompute, not the whole grain again (D47).
-#}

with accounts as (

    select
        account_id,
        cast(created_at as date) as created_date
    from {{ ref('stg_crm__accounts') }}

),

as_of_dates as (

    select * from {{ ref('int_as_of_dates') }}
    {{ health_dates_from(health_recompute_from()) }}

),

final as (

    select
        accounts.account_id,
        as_of_dates.as_of_date,
        as_of_dates.is_latest
    from accounts
    inner join as_of_dates
        on accounts.created_date <= as_of_dates.as_of_date

)

select * from final

{#- The incremental history holds exactly the as-of dates of int_as_of_dates up to its
    latest stored date: no stale date (e.g. the off-cadence latest date of an earlier
    run) and no gap. Dates after the latest as-of date (a run with an earlier
    as_of_date var) are not checked. -#}

with history as (

    select * from {{ ref('fct_health_history') }}

),

as_of_dates as (

    select * from {{ ref('int_as_of_dates') }}

),

stored_dates as (

    select distinct as_of_date
    from history

),

bounds as (

    select
        (select max(as_of_date) from stored_dates) as last_stored_date,
        (select max(as_of_date) from as_of_dates) as last_as_of_date

),

stale as (

    select
        stored_dates.as_of_date,
        'stored but not an as-of date' as problem
    from stored_dates
    cross join bounds
    where
        stored_dates.as_of_date <= bounds.last_as_of_date
        and stored_dates.as_of_date not in (select as_of_dates.as_of_date from as_of_dates)

),

gaps as (

    select
        as_of_dates.as_of_date,
        'an as-of date missing from the history' as problem
    from as_of_dates
    cross join bounds
    where
        as_of_dates.as_of_date <= bounds.last_stored_date
        and as_of_dates.as_of_date not in (select stored_dates.as_of_date from stored_dates)

),

final as (

    select * from stale
    union all
    select * from gaps

)

select * from final

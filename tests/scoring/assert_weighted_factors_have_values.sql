{{ config(severity='warn') }}

{#- A warning, not an error: a weighted factor whose metric is missing for every
    account on the latest as-of date is probably not computed upstream (or named
    wrongly); it silently lowers every account's coverage. -#}

with health_factors as (

    select * from {{ ref('fct_health_factors') }}

),

as_of_dates as (

    select * from {{ ref('int_as_of_dates') }}

),

final as (

    select
        health_factors.factor_key,
        count(*) as account_rows
    from health_factors
    inner join as_of_dates
        on health_factors.as_of_date = as_of_dates.as_of_date
    where as_of_dates.is_latest
    group by health_factors.factor_key
    having count(health_factors.metric_value) = 0

)

select * from final

{{ config(**health_as_of_incremental(upstream='fct_health_history', minus_setting='churn_horizon_days')) }}
{%- set recompute_from = health_recompute_from() %}

{#-
    The backtest population (doc('health_backtest')): on each monthly as-of date
    (the last as-of date of a calendar month) at least churn_horizon_days before
    the end of the data, the customers of that day with their health, and whether
    they churned within the horizon: not a customer on some as-of date of the
    next churn_horizon_days days.
    Incremental (doc('health_incremental')): a run recomputes the backtest dates
    from churn_horizon_days before the first date fct_health_history rescored, the
    only ones whose health or horizon it can change (and the only ones that can
    newly be far enough from the end of the data).
-#}

-- on a daily run, only the recomputed dates: the customers of earlier backtest dates drop out with them
with history as (

    select * from {{ ref('fct_health_history') }}
    {{ health_dates_from(recompute_from) }}

),

as_of_dates as (

    select * from {{ ref('int_as_of_dates') }}

),

settings as (

    select * from {{ ref('health_settings') }}

),

backtest_settings as (

    select max(case when setting_key = 'churn_horizon_days' then setting_value end) as churn_horizon_days
    from settings

),

end_of_data as (

    select max(as_of_date) as end_date
    from as_of_dates

),

month_ends as (

    select max(as_of_date) as as_of_date
    from as_of_dates
    group by {{ dbt.date_trunc('month', 'as_of_date') }}

),

backtest_dates as (

    select month_ends.as_of_date
    from month_ends
    cross join end_of_data
    cross join backtest_settings
    where
        {{ dbt.datediff('month_ends.as_of_date', 'end_of_data.end_date', 'day') }}
        >= backtest_settings.churn_horizon_days

),

customers as (

    select
        history.account_id,
        history.as_of_date,
        history.health_score,
        history.grade,
        history.colour,
        history.is_graded
    from history
    inner join backtest_dates
        on history.as_of_date = backtest_dates.as_of_date
    where history.is_customer

),

churners as (

    select distinct
        customers.account_id,
        customers.as_of_date
    from customers
    cross join backtest_settings
    inner join history as later
        on
            customers.account_id = later.account_id
            and customers.as_of_date < later.as_of_date
            and {{ dbt.datediff('customers.as_of_date', 'later.as_of_date', 'day') }}
            <= backtest_settings.churn_horizon_days
    where not later.is_customer

),

final as (

    select
        customers.account_id,
        customers.as_of_date,
        customers.health_score,
        customers.grade,
        customers.colour,
        customers.is_graded,
        churners.account_id is not null as is_churner
    from customers
    left join churners
        on
            customers.account_id = churners.account_id
            and customers.as_of_date = churners.as_of_date

)

select * from final

{#- The default weights are in force, with a positive total, on every as-of date:
    an account of a segment without its own weights always has a set to fall back on. -#}

with as_of_dates as (

    select * from {{ ref('int_as_of_dates') }}

),

weight_sets as (

    select * from {{ ref('int_health_weight_sets') }}

),

default_totals as (

    select
        as_of_date,
        sum(weight) as weight_total
    from weight_sets
    where weight_set = 'default'
    group by as_of_date

),

final as (

    select
        as_of_dates.as_of_date,
        default_totals.weight_total
    from as_of_dates
    left join default_totals
        on as_of_dates.as_of_date = default_totals.as_of_date
    where coalesce(default_totals.weight_total, 0) <= 0

)

select * from final

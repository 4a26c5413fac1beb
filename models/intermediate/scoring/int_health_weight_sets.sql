{#-
    The weights in force on each as-of date, per weight set (a segment of
    seeds/health_weights.csv, or `default`): for each factor, the row with the
    latest valid_from on or before the date. weights_version counts the rows of
    the whole seed in force on the date: it changes on every date a weight change
    applies to, which is how the incremental facts find dates to re-score.
    Rows of weight 0 are kept here (the set exists) and left out when scoring.
-#}

with weights as (

    select * from {{ ref('health_weights') }}

),

as_of_dates as (

    select * from {{ ref('int_as_of_dates') }}

),

rows_in_force as (

    select
        as_of_dates.as_of_date,
        weights.segment as weight_set,
        weights.factor_key,
        weights.weight,
        weights.valid_from,
        row_number() over (
            partition by as_of_dates.as_of_date, weights.segment, weights.factor_key
            order by weights.valid_from desc
        ) as recency_rank
    from as_of_dates
    inner join weights
        on as_of_dates.as_of_date >= weights.valid_from

),

versions as (

    select
        as_of_date,
        count(*) as weights_version
    from rows_in_force
    group by as_of_date

),

final as (

    select
        rows_in_force.as_of_date,
        rows_in_force.weight_set,
        rows_in_force.factor_key,
        rows_in_force.weight,
        rows_in_force.valid_from as weight_valid_from,
        versions.weights_version
    from rows_in_force
    inner join versions
        on rows_in_force.as_of_date = versions.as_of_date
    where rows_in_force.recency_rank = 1

)

select * from final

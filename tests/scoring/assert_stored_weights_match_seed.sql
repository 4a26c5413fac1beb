{#- The weights stored in fct_health_factors (as int_health_weights_applied records them,
    date by date, as they are written: D46) are the ones health_weights.csv gives for
    that date and set now. A failure means a weight line was edited in place (same
    valid_from) after the history was built: that rewrites history, which the
    incremental run does not do by itself. Rebuild with
    `dbt build --full-refresh -s fct_health_factors+`, or add a line with a new valid_from
    instead. Returns the date, set and factor that differ. -#}

with weights_applied as (

    select * from {{ ref('int_health_weights_applied') }}

),

weight_sets as (

    select * from {{ ref('int_health_weight_sets') }}

),

stored as (

    select
        as_of_date,
        weight_set,
        factor_key,
        weight
    from weights_applied

),

stored_sets as (

    select distinct
        as_of_date,
        weight_set
    from stored

),

in_force as (

    select
        weight_sets.as_of_date,
        weight_sets.weight_set,
        weight_sets.factor_key,
        weight_sets.weight
    from weight_sets
    inner join stored_sets
        on
            weight_sets.as_of_date = stored_sets.as_of_date
            and weight_sets.weight_set = stored_sets.weight_set
    where weight_sets.weight > 0

),

final as (

    select
        coalesce(stored.as_of_date, in_force.as_of_date) as as_of_date,
        coalesce(stored.weight_set, in_force.weight_set) as weight_set,
        coalesce(stored.factor_key, in_force.factor_key) as factor_key,
        stored.weight as stored_weight,
        in_force.weight as seed_weight
    from stored
    full outer join in_force
        on
            stored.as_of_date = in_force.as_of_date
            and stored.weight_set = in_force.weight_set
            and stored.factor_key = in_force.factor_key
    where
        stored.weight is null
        or in_force.weight is null
        or stored.weight <> in_force.weight

)

select * from final

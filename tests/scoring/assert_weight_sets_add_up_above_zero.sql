{#- Every weight set, as it stands from each of its valid_from dates on, has weights
    adding up to more than zero (otherwise no account in it could get a score).
    Returns the segment and date where a set adds up to zero. -#}

with weights as (

    select * from {{ ref('health_weights') }}

),

change_dates as (

    select distinct
        segment,
        valid_from as change_date
    from weights

),

rows_in_force as (

    select
        change_dates.segment,
        change_dates.change_date,
        weights.factor_key,
        weights.weight,
        row_number() over (
            partition by change_dates.segment, change_dates.change_date, weights.factor_key
            order by weights.valid_from desc
        ) as recency_rank
    from change_dates
    inner join weights
        on
            change_dates.segment = weights.segment
            and change_dates.change_date >= weights.valid_from

),

final as (

    select
        segment,
        change_date,
        sum(weight) as weight_total
    from rows_in_force
    where recency_rank = 1
    group by
        segment,
        change_date
    having sum(weight) <= 0

)

select * from final

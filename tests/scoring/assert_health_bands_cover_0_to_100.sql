{#- The bands, ordered by min_score, start at 0, end at 100 and each starts where the
    previous one ends: no gap, no overlap. Returns the bands that break it. -#}

with bands as (

    select * from {{ ref('health_bands') }}

),

ordered as (

    select
        grade,
        min_score,
        max_score,
        lead(min_score) over (order by min_score) as next_min_score,
        row_number() over (order by min_score) as band_position,
        count(*) over () as band_count
    from bands

),

final as (

    select
        grade,
        min_score,
        max_score,
        next_min_score
    from ordered
    where
        (band_position = 1 and min_score <> 0)
        or (band_position = band_count and max_score <> 100)
        or (band_position < band_count and max_score <> next_min_score)
        or min_score >= max_score

)

select * from final

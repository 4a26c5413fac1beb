{{ config(**health_as_of_incremental(upstream='fct_health_factors')) }}
{%- set recompute_from = health_recompute_from() %}

{#-
    The weights fct_health_factors holds, per as-of date, weight set and factor: what
    each date was scored with. Written with the dates fct_health_factors rewrote in the
    same run (every date when it was built from scratch or did not run: upstream rule,
    doc('health_incremental')), so it always matches the factor history, and
    assert_stored_weights_match_seed compares the seed with every stored date from here,
    not from the history's account x date x factor rows (D46).
-#}

with health_factors as (

    select * from {{ ref('fct_health_factors') }}
    {{ health_dates_from(recompute_from) }}

),

final as (

    select distinct
        as_of_date,
        weight_set,
        weights_version,
        factor_key,
        weight
    from health_factors

)

select * from final

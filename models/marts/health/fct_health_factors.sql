{{ config(**health_as_of_incremental(weights=true)) }}

{#-
    Every factor of every account on every as-of date, scored. Incremental like
    every account x as-of date model (doc('health_incremental'), macros/incremental.sql);
    a change of weights in force also rescores the dates it touches.
-#}

-- depends_on: {{ ref('int_as_of_dates') }}
-- depends_on: {{ ref('int_health_weight_sets') }}

{%- set rescore_from = health_recompute_from() %}

with factor_scores as (

    select * from {{ ref('int_health_factor_scores') }}
    {{ health_dates_from(rescore_from) }}

),

final as (

    select
        cast(account_id as varchar) as account_id,
        as_of_date,
        cast(factor_key as varchar) as factor_key,
        cast(factor_group as varchar) as factor_group,
        cast(weight_set as varchar) as weight_set,
        cast(weights_version as integer) as weights_version,
        cast(metric_value as double precision) as metric_value,
        cast(factor_floor as double precision) as factor_floor,
        cast(factor_target as double precision) as factor_target,
        cast(factor_score as double precision) as factor_score,
        is_missing,
        cast(weight as double precision) as weight,
        cast(effective_weight as double precision) as effective_weight,
        cast(contribution as double precision) as contribution,
        cast(pull as double precision) as pull
    from factor_scores

)

select * from final

{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='as_of_date',
        on_schema_change='fail',
        pre_hook="
            {% if is_incremental() %}
            delete from {{ this }}
            where
                as_of_date = (select max(as_of_date) from {{ this }})
                and as_of_date not in (select as_of_date from {{ ref('int_as_of_dates') }})
                and as_of_date < (select max(as_of_date) from {{ ref('int_as_of_dates') }})
            {% endif %}
        ",
    )
}}

{#-
    Every factor of every account on every as-of date, scored (doc('health_incremental')
    for how a run picks its dates). The pre-hook drops the stale latest date of the
    previous run when it was not a date of the cadence.
-#}

-- depends_on: {{ ref('int_as_of_dates') }}
-- depends_on: {{ ref('int_health_weight_sets') }}

{#- `run_query is defined` is always true in dbt; it keeps the linter's jinja stand-ins happy -#}
{%- set rescore_from = none -%}
{%- if is_incremental() and run_query is defined -%}
    {%- set rescore_query -%}
        with stored as (
            select distinct
                as_of_date,
                weights_version
            from {{ this }}
        ),

        in_force as (
            select distinct
                as_of_date,
                weights_version
            from {{ ref('int_health_weight_sets') }}
        ),

        start_dates as (
            select min(as_of_date) as start_date
            from {{ ref('int_as_of_dates') }}
            where as_of_date > (select coalesce(max(as_of_date), cast('1900-01-01' as date)) from stored)
            union all
            select min(stored.as_of_date) as start_date
            from stored
            inner join in_force
                on stored.as_of_date = in_force.as_of_date
            where stored.weights_version <> in_force.weights_version
            {% if var('health_rescore_from', none) %}
                union all
                select cast('{{ var("health_rescore_from") }}' as date) as start_date
            {% endif %}
        )

        select min(start_date) as rescore_from
        from start_dates
    {%- endset -%}
    {%- set rescore_from = run_query(rescore_query).columns[0].values()[0] -%}
{%- endif %}

with factor_scores as (

    select * from {{ ref('int_health_factor_scores') }}
    {%- if is_incremental() %}
        {%- if rescore_from is none %}
            where 1 = 0
        {%- else %}
            where as_of_date >= cast('{{ rescore_from }}' as date)
        {%- endif %}
    {%- endif %}

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

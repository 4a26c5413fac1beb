-- noqa: disable=all
-- (templated SQL inside macros: linted where the models render it)
{#-
    The one rule that picks the as-of dates an incremental model (re)computes
    (doc('health_incremental')). Every account x as-of date model is incremental:
    the metric families, int_account_metrics, int_account_segments and the two
    published facts. A run recomputes the dates from the earliest of:

    - the latest date already stored (its is_latest flag and windows change);
    - the first as-of date within the look-back (var health_lookback_days,
      default 7) of the latest as-of date, so data that arrives a few days late
      still reaches the dates it belongs to;
    - the var health_rescore_from when given;
    - with weights=true (the scored facts only): the earliest stored date whose
      weights_version is not the one in force now.

    None when the model is built from scratch (every date is computed).
-#}
{% macro health_recompute_from(weights=false) %}
    {#- a unit test has no `this`: it computes every date of its given rows -#}
    {%- if not execute or this is none or not is_incremental() -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set lookback_days = var('health_lookback_days', 7) | int -%}
    {%- set query -%}
        with stored as (
            select distinct
                as_of_date
                {%- if weights %}, weights_version{% endif %}
            from {{ this }}
        ),

        latest as (
            select max(as_of_date) as latest_date
            from {{ ref('int_as_of_dates') }}
        ),

        start_dates as (
            select max(as_of_date) as start_date
            from stored
            union all
            select min(as_of_dates.as_of_date) as start_date
            from {{ ref('int_as_of_dates') }} as as_of_dates
            cross join latest
            where as_of_dates.as_of_date >= {{ dbt.dateadd('day', -lookback_days, 'latest.latest_date') }}
            {%- if weights %}
                union all
                select min(stored.as_of_date) as start_date
                from stored
                inner join (
                    select distinct
                        as_of_date,
                        weights_version
                    from {{ ref('int_health_weight_sets') }}
                ) as in_force
                    on stored.as_of_date = in_force.as_of_date
                where stored.weights_version <> in_force.weights_version
            {%- endif %}
            {%- if var('health_rescore_from', none) %}
                union all
                select cast('{{ var("health_rescore_from") }}' as date) as start_date
            {%- endif %}
        )

        select coalesce(min(start_date), cast('1900-01-01' as date)) as recompute_from
        from start_dates
    {%- endset -%}
    {{ return(run_query(query).columns[0].values()[0]) }}
{% endmacro %}


{#- `where as_of_date >= <date>` on an incremental run, nothing on a full build. -#}
{% macro health_dates_from(recompute_from) %}
    {%- if recompute_from is not none -%}
        where as_of_date >= cast('{{ recompute_from }}' as date)
    {%- endif -%}
{% endmacro %}


{#-
    The configuration every account x as-of date model shares: delete+insert
    keyed on as_of_date (a run replaces whole dates; a single-column key because
    dbt-duckdb turns a multi-column key into a `delete ... using` join), and two
    pre-hooks: one drops the previous run's latest date when it was not a date
    of the cadence (a Wednesday, say) and a later date now exists, so the table
    stays equal to a full rebuild; one records the dates this run recomputes,
    for the data tests (health_test_relation).
-#}
{% macro health_as_of_incremental(weights=false) %}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'delete+insert',
        'unique_key': 'as_of_date',
        'on_schema_change': 'fail',
        'pre_hook': [
            "{{ health_drop_stale_latest() }}",
            "{{ health_record_recompute_from(" ~ weights ~ ") }}",
        ],
    }) }}
{% endmacro %}


{% macro health_drop_stale_latest() %}
    {%- if this is not none and is_incremental() -%}
        delete from {{ this }}
        where
            as_of_date = (select max(as_of_date) from {{ this }})
            and as_of_date not in (select as_of_date from {{ ref('int_as_of_dates') }})
            and as_of_date < (select max(as_of_date) from {{ ref('int_as_of_dates') }})
    {%- endif -%}
{% endmacro %}


{#-
    Which dates each incremental model recomputed in which dbt invocation:
    health_incremental_runs (model_name, invocation_id, recompute_from, recorded_at),
    created by on-run-start. recompute_from is null for a build from scratch.
    It also tells an operator what every scheduled run rewrote.
-#}
{% macro health_incremental_runs() %}
    {{ return(target.schema ~ '.health_incremental_runs') }}
{% endmacro %}


{% macro create_health_incremental_runs() %}
    create table if not exists {{ health_incremental_runs() }} (
        model_name varchar(256),
        invocation_id varchar(64),
        recompute_from date,
        recorded_at timestamp
    )
{% endmacro %}


{% macro health_record_recompute_from(weights=false) %}
    {%- set recompute_from = health_recompute_from(weights=weights) -%}
    insert into {{ health_incremental_runs() }}
    values (
        '{{ this.identifier }}',
        '{{ invocation_id }}',
        {% if recompute_from is none %}null{% else %}cast('{{ recompute_from }}' as date){% endif %},
        cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as timestamp)
    )
{% endmacro %}


{#-
    The data tests of an incremental account x as-of date model test the dates
    this invocation wrote: the whole table after a build from scratch, only the
    recomputed dates after a daily run (the older dates were tested when they
    were written and are not rewritten). dbt's generic tests read their model
    through get_where_subquery; singular tests call health_test_relation.
-#}
{% macro health_test_relation(relation) %}
    {%- if not execute or relation is string -%}
        {{ return(relation) }}
    {%- endif -%}
    {%- for candidate in graph.nodes.values() if candidate.resource_type == 'model'
        and candidate.alias == relation.identifier and candidate.config.materialized == 'incremental' -%}
        {{ return(
            '(select * from ' ~ relation ~ ' where as_of_date >= coalesce('
            ~ '(select max(recompute_from) from ' ~ health_incremental_runs()
            ~ " where model_name = '" ~ relation.identifier ~ "' and invocation_id = '" ~ invocation_id ~ "')"
            ~ ", cast('1900-01-01' as date)))"
        ) }}
    {%- endfor -%}
    {{ return(relation) }}
{% endmacro %}


{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- set tested = health_test_relation(relation) -%}
    {%- if where -%}
        {{ return('(select * from ' ~ tested ~ ' where ' ~ where ~ ') dbt_subquery') }}
    {%- elif tested is string -%}
        {{ return(tested ~ ' dbt_subquery') }}
    {%- else -%}
        {{ return(relation) }}
    {%- endif -%}
{%- endmacro %}

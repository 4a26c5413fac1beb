-- noqa: disable=all
-- (templated SQL inside macros: linted where the models render it)
{#-
    Incremental staging (DECISIONLOG D35). A base_* model types and
    checks only what changed since its last run, and the table stays equal to a build from
    scratch (source_row_number aside, below). A run stages:

    - the raw rows loaded after the latest stored loaded_at (`_loaded_at` of the contract);
    - every row of a key (`key`) that such a row has: a later version supersedes the stored
      one, or not;
    - every row of a key whose rows point at a reference (`references`: column ->
      'model.key_column') whose status changed since the model's last run: a user that arrived
      after its events, an account quarantined or no longer quarantined, a currency added to
      exchange_rates. The statuses the model's rows were checked against are kept in
      health_staged_references (post-hook health_record_references).

    The rows loaded up to that loaded_at must be the ones the model stored: same count and same
    sum of fingerprints (a hash of every raw column, stored as source_fingerprint). When they
    are not (a row deleted, or edited without a new _loaded_at, a file without _loaded_at), the
    run stages every row again, as a build from scratch does. On PostgreSQL a run always stages
    every row (the fingerprints are DuckDB's hash).

    source_row_number is the row's position in its file when the stored rows kept their
    positions (a file that only gains rows); when the file reordered its rows, the rows a run
    stages are numbered after the stored ones, in file order (row_offset), so numbers stay
    unique and the versions of a key, always staged together, keep the file's order.

    Pre-hooks record the run (health_record_staging: loaded_after, row_offset) and the keys it
    stages again (health_record_restaged_keys), and delete every stored row when it stages every
    row. The model reads the new raw rows (health_new_rows) and the stored rows of those keys
    (health_restaged_stored), and checks and supersedes them together; delete+insert on
    source_row_number replaces the stored rows (a stored row staged again keeps its number).
    Every row the run writes gets its staged_at (health_run_started_at, as recorded_at), which is how its tests and
    the models after it find what it staged (health_staged_scope, D40).
-#}
{% macro health_staging_incremental(source, key, references={}) %}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'delete+insert',
        'unique_key': 'source_row_number',
        'on_schema_change': 'sync_all_columns',
        'meta': {'health_staging': {'source': source, 'key': key, 'references': references}},
        'pre_hook': [
            "{{ health_record_staging() }}",
            "{{ health_record_restaged_keys() }}",
            "{{ health_delete_when_restaging_all() }}",
        ],
        'post_hook': ["{{ health_record_references() }}"],
    }) }}
{% endmacro %}


{#-
    A raw row's fingerprint: a 32-bit hash of all its columns (not its position), as a bigint
    so that sums over millions of rows stay exact. DuckDB only; null on PostgreSQL, where a run
    stages every row.
-#}
{% macro health_source_fingerprint() %}
    {{- return(adapter.dispatch('health_source_fingerprint', 'customer_health')()) -}}
{% endmacro %}

{% macro default__health_source_fingerprint() %}
    {{- 'cast(hash(*columns(* exclude (file_row_number))) % 4294967291 as bigint)' -}}
{% endmacro %}

{% macro postgres__health_source_fingerprint() %}
    {{- 'cast(null as bigint)' -}}
{% endmacro %}


{#-
    The keys of a reference and whether each is valid: a base model's key is valid when one
    of its rows is not quarantined; every key of a seed (exchange_rates) is valid. The
    model's known_* CTEs and the recorded statuses use this one definition.
-#}
{% macro health_known_keys(model, key_column, candidates=none) %}
    select
        {{ key_column }},
        {% if model.startswith('base_') -%}
            bool_or(quarantine_reason is null)
        {%- else -%}
            true
        {%- endif %} as is_valid
    from {{ ref(model) }}
    where
        {{ key_column }} is not null
        {%- if candidates %}
            and {{ key_column }} in ({{ candidates }})
        {%- endif %}
    group by 1
{% endmacro %}


{#-
    The keys of `reference` ('model.key_column') whose status may have changed since the
    statuses recorded for the model's `column`, as SQL: the keys the reference's base model
    staged in this invocation, when this run stages incrementally, statuses are recorded for
    the column, and the model's last run read the reference's last run (health_read_last_run_of,
    D37). None: any key (a seed, another run in between, a build from scratch, PostgreSQL).
-#}
{% macro health_reference_candidates(column, reference) %}
    {%- set model, key_column = reference.split('.') -%}
    {%- set node = graph.nodes.get('model.' ~ project_name ~ '.' ~ model) -%}
    {%- if node is none or 'health_staging' not in node.config.meta -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set also -%}
        exists (
            select 1
            from {{ health_staging_runs() }}
            where
                model_name = '{{ this.identifier }}'
                and invocation_id = '{{ invocation_id }}'
                and loaded_after is not null
        )
        and exists (
            select 1
            from {{ health_staged_references() }}
            where model_name = '{{ this.identifier }}' and column_name = '{{ column }}'
        )
    {%- endset -%}
    {%- if not health_read_last_run_of(
        model, health_staging_runs(), 'loaded_after is not null', health_staging_runs(), also) -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(
        'select ' ~ key_column ~ ' from ' ~ ref(model)
        ~ ' where ' ~ health_staged_scope(model)
    ) }}
{% endmacro %}


{#-
    `where <the raw rows loaded after the recorded loaded_at>` (every row when none is
    recorded) for a base model's source CTE on an incremental run; nothing on a build from
    scratch.
-#}
{% macro health_new_rows() %}
    {%- if execute and this is not none and is_incremental() -%}
        {%- set loaded_after = health_staged_after() -%}
        where {{ loaded_after }} is null or {{ cast_raw('_loaded_at', 'timestamp') }} > {{ loaded_after }}
    {%- endif -%}
{% endmacro %}


{#-
    On an incremental run, `union all` the stored rows of the keys this run stages again
    (health_restaged_keys), with the typed columns (every stored column but quarantine_reason
    and is_superseded, and staged_at, which is this run's): they are checked and superseded again
    with the new rows, and replace themselves (same source_row_number). Nothing on a build from
    scratch. The rows are found by their key, then read by their source_row_number: the key
    column of every stored row is read, the other columns only in the row groups that hold such
    a row, and none when no stored row has a key staged again, the usual case (D42).
-#}
{% macro health_restaged_stored() %}
    {%- if execute and this is not none and is_incremental() -%}
        {%- set rule = config.get('meta', {}).get('health_staging', {}) -%}
        {%- if not health_has_fingerprints() -%}
            {{ return('') }}
        {%- endif -%}
        {#- the typed CTE's order: its first two columns, then the stored order (an upgraded table has source_fingerprint last); staged_at is this run's -#}
        {%- set columns = ['source_row_number', 'source_fingerprint'] -%}
        {%- for column in adapter.get_columns_in_relation(this) if column.name not in
            ('source_row_number', 'source_fingerprint', 'quarantine_reason', 'is_superseded', 'staged_at') -%}
            {%- do columns.append(column.name) -%}
        {%- endfor %}
    union all
    select {{ columns | join(', ') }}
    from {{ this }}
    where source_row_number in (
        select source_row_number
        from {{ this }}
        where {{ health_key(rule.key) }} in ({{ health_restaged_keys_of(this.identifier) }})
    )
    {%- endif -%}
{% endmacro %}


{#- A model's key as one text value (columns joined by '|'); typed from the raw columns with raw=true. -#}
{% macro health_key(columns, raw=false) %}
    {%- set parts = [] -%}
    {%- for column in columns -%}
        {%- do parts.append(raw_text(column) if raw else column) -%}
    {%- endfor -%}
    {{- parts | join(" || '|' || ") -}}
{% endmacro %}


{#-
    Records the keys this run stages again (health_restaged_keys): the keys of the raw rows
    loaded after the recorded loaded_at (a new version of a stored key, or a first one), and
    the keys of the stored rows that point at a reference whose status changed. A row without
    a key is staged only when new: its first rule broken is the missing key, whatever its
    references. The recorded loaded_at is read first and written as a constant, which DuckDB
    pushes into the scan of the raw file; the stored rows are found by reference, then read by
    source_row_number (D42).
-#}
{% macro health_record_restaged_keys() %}
    {%- if not execute or this is none or not is_incremental() -%}
        {{ return('') }}
    {%- endif -%}
    {%- set rule = config.get('meta', {}).get('health_staging', {}) -%}
    {%- set loaded_after = run_query('select ' ~ health_staged_after()).columns[0].values()[0] -%}
    delete from {{ health_restaged_keys() }}
    where model_name = '{{ this.identifier }}';

    insert into {{ health_restaged_keys() }}
    select distinct
        '{{ this.identifier }}' as model_name,
        '{{ invocation_id }}' as invocation_id,
        keys.restaged_key
    from (
        select {{ health_key(rule.key, raw=true) }} as restaged_key
        from {{ source(rule.source[0], rule.source[1]) }}
        where {{ cast_raw('_loaded_at', 'timestamp') }} > cast({{ "'" ~ loaded_after ~ "'" if loaded_after is not none else 'null' }} as timestamp)
        {%- for column, reference in rule.references.items() %}

        union all

        select {{ health_key(rule.key) }} as restaged_key
        from {{ this }}
        where source_row_number in (
            select source_row_number
            from {{ this }}
            where {{ column }} in ({{ health_changed_references(column, reference) }})
        )
        {%- endfor %}
    ) as keys
    where keys.restaged_key is not null
{% endmacro %}


{#- The keys each base model stages again in an invocation (model_name, invocation_id, restaged_key). -#}
{% macro health_restaged_keys() %}
    {{ return(target.schema ~ '.health_restaged_keys') }}
{% endmacro %}


{#- The keys the base model `model_name` stages again in this invocation, as a subquery. -#}
{% macro health_restaged_keys_of(model_name) %}
    select restaged.restaged_key
    from {{ health_restaged_keys() }} as restaged
    where
        restaged.model_name = '{{ model_name }}'
        and restaged.invocation_id = '{{ invocation_id }}'
{% endmacro %}


{% macro create_health_restaged_keys() %}
    create table if not exists {{ health_restaged_keys() }} (
        model_name varchar(256),
        invocation_id varchar(64),
        restaged_key varchar(1024)
    )
{% endmacro %}


{#-
    The keys of `reference` ('model.key_column') whose status differs from the one recorded for
    the model's `column`; only among the candidates when there are (health_reference_candidates).
-#}
{% macro health_changed_references(column, reference) %}
    {%- set model, key_column = reference.split('.') -%}
    {%- set candidates = health_reference_candidates(column, reference) -%}
    select coalesce(now_known.{{ key_column }}, recorded.reference_key)
    from ({{ health_known_keys(model, key_column, candidates) }}) as now_known
    full outer join (
        select
            reference_key,
            is_valid
        from {{ health_staged_references() }}
        where
            model_name = '{{ this.identifier }}'
            and column_name = '{{ column }}'
            {%- if candidates %}
                and reference_key in ({{ candidates }})
            {%- endif %}
    ) as recorded
        on now_known.{{ key_column }} = recorded.reference_key
    where now_known.is_valid is distinct from recorded.is_valid
{% endmacro %}


{#- The loaded_at after which this invocation stages rows, as SQL; null: every row. -#}
{% macro health_staged_after() %}
    {{- return(health_staging_run('loaded_after')) -}}
{% endmacro %}


{#- ` + <row_offset>` for the source_row_number of the rows a daily run stages; nothing on a build from scratch. -#}
{% macro health_row_offset() %}
    {%- if execute and this is not none and is_incremental() -%}
        {{ ' + ' ~ health_staging_run('row_offset') }}
    {%- endif -%}
{% endmacro %}


{#- What the base model `model_name` (default: the one being built) recorded of this invocation's run, as SQL; null when it did not run in it. -#}
{% macro health_staging_run(column, model_name=none) %}
    {{- return(
        '(select max(' ~ column ~ ') from ' ~ health_staging_runs()
        ~ " where model_name = '" ~ (model_name or this.identifier) ~ "' and invocation_id = '" ~ invocation_id ~ "')"
    ) -}}
{% endmacro %}


{#-
    The rows the base model `model_name` staged in this invocation, as a condition on its rows
    or on its stg_* view's (both have staged_at): the rows with this run's staged_at, which are
    the raw rows loaded after the recorded loaded_at and every stored row of the keys it staged
    again, or every row when it staged every row; every row when it did not run in this
    invocation (a build from scratch, `dbt test` on its own). The data tests of staging read
    these rows (health_test_relation): the rows a run leaves alone were tested when they were
    staged, and any row whose outcome a change could alter is staged again with its key (D36).

    Called where the base model has run already (its tests, the hooks of the models after it),
    so under build, run and test it asks whether the model ran and returns a constant condition,
    which DuckDB pushes into the table scan (D40); elsewhere (compile, show) the same condition
    in SQL.
-#}
{% macro health_staged_scope(model_name) %}
    {%- set recorded_at = health_staging_run('recorded_at', model_name) -%}
    {%- if execute and flags.WHICH in ('build', 'run', 'test') -%}
        {%- set staged = run_query('select ' ~ recorded_at ~ ' is not null').columns[0].values()[0] -%}
        {{ return('staged_at = ' ~ health_run_started_at() if staged else 'true') }}
    {%- endif -%}
    {{ return('(' ~ recorded_at ~ ' is null or staged_at = ' ~ health_run_started_at() ~ ')') }}
{% endmacro %}


{#-
    The raw rows a source's data tests (severity warn: staging quarantines what they find)
    read in a `dbt build` that stages the source incrementally: the rows loaded after the latest
    loaded_at its base model stored, and the rows without _loaded_at. The older rows were
    tested, and warned about, by the run that staged them (D36). Source tests run before their
    base model, so they read what it stored, not what this run records. Every row on a build
    from scratch or --full-refresh, when the base model is not selected, and under `dbt test`.
-#}
{% macro health_tested_source(relation) %}
    {%- if not execute or flags.WHICH != 'build' or flags.FULL_REFRESH -%}
        {{ return(relation) }}
    {%- endif -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'model'
        and node.config.meta.get('health_staging', {}).get('source') == model.sources[0]
        and node.unique_id in selected_resources -%}
        {%- set base = adapter.get_relation(node.database, node.schema, node.alias) -%}
        {%- if base is none -%}
            {{ return(relation) }}
        {%- endif -%}
        {{ return(
            '(select * from ' ~ relation ~ ' where not coalesce(' ~ cast_raw('_loaded_at', 'timestamp')
            ~ ' <= (select max(loaded_at) from ' ~ base ~ '), false))'
        ) }}
    {%- endfor -%}
    {{ return(relation) }}
{% endmacro %}


{#- The base model that stages a model's rows: itself when it is a base_* model, the one base model a stg_* view reads; none otherwise. -#}
{% macro health_staging_node(node) %}
    {%- if 'health_staging' in node.config.meta -%}
        {{ return(node) }}
    {%- endif -%}
    {%- set parents = node.depends_on.nodes -%}
    {%- if parents | length == 1 and parents[0] in graph.nodes
        and 'health_staging' in graph.nodes[parents[0]].config.meta -%}
        {{ return(graph.nodes[parents[0]]) }}
    {%- endif -%}
    {{ return(none) }}
{% endmacro %}


{#-
    What each base model staged in which dbt invocation: health_staging_runs (model_name,
    invocation_id, loaded_after, row_offset, recorded_at), created by on-run-start.
    loaded_after null: every row (a build from scratch, or the rows loaded before did not
    match the stored ones). row_offset: added to the file positions of the rows staged.
-#}
{% macro health_staging_runs() %}
    {{ return(target.schema ~ '.health_staging_runs') }}
{% endmacro %}


{% macro create_health_staging_runs() %}
    create table if not exists {{ health_staging_runs() }} (
        model_name varchar(256),
        invocation_id varchar(64),
        loaded_after timestamp,
        row_offset bigint,
        recorded_at timestamp
    )
{% endmacro %}


{#- The reference statuses each base model's rows were last checked against (model_name, column_name, reference_key, is_valid). -#}
{% macro health_staged_references() %}
    {{ return(target.schema ~ '.health_staged_references') }}
{% endmacro %}


{% macro create_health_staged_references() %}
    create table if not exists {{ health_staged_references() }} (
        model_name varchar(256),
        column_name varchar(256),
        reference_key varchar(256),
        is_valid boolean
    )
{% endmacro %}


{% macro health_record_staging() %}
    {%- if not execute -%}
        {{ return('') }}
    {%- endif %}
    insert into {{ health_staging_runs() }}
    select
        '{{ this.identifier }}' as model_name,
        '{{ invocation_id }}' as invocation_id,
        staged.loaded_after,
        staged.row_offset,
        {{ health_run_started_at() }} as recorded_at
    from (
        {%- if this is not none and is_incremental() and health_has_fingerprints() %}
            {{ adapter.dispatch('health_staging_decision', 'customer_health')() }}
        {%- else %}
            select
                cast(null as timestamp) as loaded_after,
                cast(0 as bigint) as row_offset
        {%- endif %}
    ) as staged
{% endmacro %}


{#-
    Whether the stored table has source_fingerprint: a table staged before D35 has not, and its
    next run stages every row (sync_all_columns adds the column).
-#}
{% macro health_has_fingerprints() %}
    {%- for column in adapter.get_columns_in_relation(this) if column.name == 'source_fingerprint' -%}
        {{ return(true) }}
    {%- endfor -%}
    {{ return(false) }}
{% endmacro %}


{#-
    loaded_after: the latest stored loaded_at when the raw rows loaded up to it are the stored
    ones (same count, same sum of fingerprints), else null (every row). row_offset: 0 when those
    rows also kept their positions in the file (or every row is staged), else the largest
    stored source_row_number.
-#}
{% macro default__health_staging_decision() %}
    {%- set rule = config.get('meta', {}).get('health_staging', {}) -%}
    with stored as (
        select
            max(loaded_at) as loaded_after,
            max(source_row_number) as last_row
        from {{ this }}
    ),

    now_read as (
        select
            count(*) as row_count,
            sum(raw.source_fingerprint) as fingerprint,
            sum(hash(raw.source_fingerprint, raw.source_row_number) % 4294967291) as placement
        from (
            select
                {{ health_source_fingerprint() }} as source_fingerprint,
                {{ source_row_number() }} as source_row_number,
                {{ cast_raw('_loaded_at', 'timestamp') }} as loaded_at
            from {{ source(rule.source[0], rule.source[1]) }}
        ) as raw
        cross join stored
        where not coalesce(raw.loaded_at > stored.loaded_after, false)
    ),

    before as (
        select
            count(*) as row_count,
            sum(base.source_fingerprint) as fingerprint,
            sum(hash(base.source_fingerprint, base.source_row_number) % 4294967291) as placement
        from {{ this }} as base
        cross join stored
        where not coalesce(base.loaded_at > stored.loaded_after, false)
    ),

    decided as (
        select
            case
                when now_read.row_count = before.row_count
                    and now_read.fingerprint = before.fingerprint
                    then stored.loaded_after
            end as loaded_after,
            now_read.placement = before.placement as kept_places,
            stored.last_row
        from stored
        cross join now_read
        cross join before
    )

    select
        loaded_after,
        case when loaded_after is null or kept_places then 0 else last_row end as row_offset
    from decided
{% endmacro %}

{% macro postgres__health_staging_decision() %}
    select
        cast(null as timestamp) as loaded_after,
        cast(0 as bigint) as row_offset
{% endmacro %}


{#- A run that stages every row deletes the stored ones first (rows no longer in the file go too). -#}
{% macro health_delete_when_restaging_all() %}
    {%- if execute and this is not none and is_incremental() -%}
        delete from {{ this }}
        where {{ health_staged_after() }} is null
    {%- endif -%}
{% endmacro %}


{#-
    Records the reference statuses the model's rows were checked against
    (health_staged_references): of every key, or, when the run took the reference's changes
    (health_reference_candidates), of the candidate keys only; the others are unchanged.
-#}
{% macro health_record_references() %}
    {%- if not execute -%}
        {{ return('') }}
    {%- endif -%}
    {%- set rule = config.get('meta', {}).get('health_staging', {}) -%}
    delete from {{ health_staged_references() }}
    where
        model_name = '{{ this.identifier }}'
        {%- if rule.references %}
            and column_name not in ('{{ rule.references.keys() | join("', '") }}')
        {%- endif %};
    {%- for column, reference in rule.references.items() %}
        {%- set model, key_column = reference.split('.') %}
        {%- set candidates = health_reference_candidates(column, reference) %}

        delete from {{ health_staged_references() }}
        where
            model_name = '{{ this.identifier }}'
            and column_name = '{{ column }}'
            {%- if candidates %}
                and reference_key in ({{ candidates }})
            {%- endif %};

        insert into {{ health_staged_references() }}
        select
            '{{ this.identifier }}' as model_name,
            '{{ column }}' as column_name,
            known.{{ key_column }} as reference_key,
            known.is_valid
        from ({{ health_known_keys(model, key_column, candidates) }}) as known;
    {%- endfor %}
{% endmacro %}

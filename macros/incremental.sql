-- noqa: disable=all
-- (templated SQL inside macros: linted where the models render it)
{#-
    The one rule that picks the dates an incremental model (re)computes
    (doc('health_incremental')). Each incremental model states its rule once, in
    its config: {{ config(**health_as_of_incremental(...)) }}. Its own rule (the
    metric families, int_account_metrics, int_account_segments, the two scored
    facts) recomputes the dates from the earliest of:

    - the latest date already stored (its is_latest flag and windows change);
    - the first as-of date within the look-back (var health_lookback_days,
      default 7) of the latest as-of date, so data that arrives a few days late
      still reaches the dates it belongs to;
    - the var health_rescore_from when given;
    - with weights=true (the scored facts only): the earliest stored date whose
      weights_version is not the one in force now.

    A model with upstream='<model>' (alerts, backtest)
    recomputes from where that model recomputed in the same invocation, minus
    the days of the health setting minus_setting when given (the backtest looks
    churn_horizon_days ahead); everything when the upstream was built from
    scratch or did not run.

    None when the model is built from scratch (every date is computed).
-#}
{% macro health_recompute_from() %}
    {#- a unit test has no `this`: it computes every date of its given rows -#}
    {%- if not execute or this is none or not is_incremental() -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set rule = health_incremental_rule() -%}
    {%- if rule.get('upstream') -%}
        {%- set query -%}
            select cast(
                {%- if rule.get('minus_setting') %}
                    {{ dbt.dateadd('day', '-1 * cast(settings.setting_value as integer)', 'runs.recompute_from') }}
                {%- else %}
                    runs.recompute_from
                {%- endif %} as date) as recompute_from
            from {{ health_incremental_runs() }} as runs
            {%- if rule.get('minus_setting') %}
                cross join {{ ref('health_settings') }} as settings
            {%- endif %}
            where
                runs.model_name = '{{ rule.upstream }}'
                and runs.invocation_id = '{{ invocation_id }}'
                {%- if rule.get('minus_setting') %}
                    and settings.setting_key = '{{ rule.minus_setting }}'
                {%- endif %}
        {%- endset -%}
        {%- set rows = run_query(query).rows -%}
        {{ return(rows[0][0] if rows | length > 0 else none) }}
    {%- endif -%}
    {%- set lookback_days = var('health_lookback_days', 7) | int -%}
    {%- if rule.get('changes') -%}
        {#- a daily reduction of the usage events: its latest stored day minus the look-back -#}
        {%- set query -%}
            select coalesce(
                {{ dbt.dateadd('day', -lookback_days, 'max(usage_date)') }},
                cast('1900-01-01' as date)
            ) as recompute_from
            from {{ this }}
        {%- endset -%}
        {{ return(run_query(query).columns[0].values()[0]) }}
    {%- endif -%}
    {%- set query -%}
        with stored as (
            select distinct
                as_of_date
                {%- if rule.get('weights') %}, weights_version{% endif %}
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
            {%- if rule.get('weights') %}
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
    The configuration every incremental model shares: the model's rule in
    meta.health_incremental (read by health_recompute_from), and two pre-hooks:
    one records the first date this run recomputes (for the data tests,
    health_test_relation, and for the models downstream), one deletes every
    stored row from that date on; the run then appends the dates it
    recomputed (a run replaces whole dates). The delete also drops the previous run's
    latest date when it was not a date of the cadence (a Wednesday, say), and
    the rows of a recomputed date that has none now (a date without alerts), so
    the table stays equal to a full rebuild. Appending, not delete+insert on
    as_of_date: that second delete found nothing left to delete, and scanned the
    stored dates for it (D40).
-#}
{% macro health_as_of_incremental(weights=false, upstream=none, minus_setting=none) %}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'append',
        'on_schema_change': 'fail',
        'meta': {'health_incremental': {'weights': weights, 'upstream': upstream, 'minus_setting': minus_setting}},
        'pre_hook': [
            "{{ health_record_recompute_from() }}",
            "{{ health_delete_recomputed() }}",
        ],
    }) }}
{% endmacro %}


{#-
    The configuration of the daily reductions of the usage events
    (int_usage_user_days, int_usage_feature_days, int_usage_account_days): rows
    keyed by account and usage_date, appended after a pre-hook deleted the rows
    they replace. A run recomputes:

    - every day from the latest stored usage_date minus the look-back (the days
      late events usually land on);
    - the older days of each account whose rows changed: a late user, account or
      feature row, a corrected event, a quarantine lifted or imposed
      (health_record_changed_accounts: the accounts and days of the rows staging staged,
      or, when that is not known, every day of the accounts whose events and sum
      of fingerprints before the first day, in what the model reads now
      (`source`, its day `day`, events `events`, fingerprint `fingerprint`),
      differ from the model's own stored event_count and event_fingerprint).

    So the table always equals a full rebuild (D33, D49), and a daily run reads the
    events only to compare two sums per account.
-#}
{% macro health_usage_incremental(source, day, events, fingerprint) %}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'append',
        'on_schema_change': 'fail',
        'meta': {'health_incremental': {
            'date_column': 'usage_date',
            'changes': {'source': source, 'day': day, 'events': events, 'fingerprint': fingerprint},
        }},
        'pre_hook': [
            "{{ health_record_recompute_from() }}",
            "{{ health_record_changed_accounts() }}",
            "{{ health_delete_recomputed() }}",
        ],
    }) }}
{% endmacro %}


{#-
    What a usage reduction reads from `relation` (its `source`), as a query: every row on a
    build from scratch; on an incremental run the rows it recomputes (their usage day: the
    `day` of its rule), health_recomputed_rows.
-#}
{% macro health_usage_recomputed(relation) %}
    {%- if execute and this is not none and is_incremental() -%}
        {%- set rule = health_incremental_rule() -%}
        {{ health_recomputed_rows(relation, this.identifier, rule, date=rule.changes.day) }}
    {%- else -%}
        select * from {{ relation }}
    {%- endif -%}
{% endmacro %}


{#-
    One usage event's fingerprint: a 32-bit hash of what the usage reductions
    keep of it (user, feature, UTC day), as a bigint so that sums of millions stay
    exact and portable. Engine-specific values (DuckDB's hash, PostgreSQL's
    hashtextextended): compared only within one warehouse.
-#}
{% macro health_usage_fingerprint() %}
    {{- return(adapter.dispatch('health_usage_fingerprint', 'customer_health')()) -}}
{% endmacro %}

{% macro default__health_usage_fingerprint() %}
    {{- 'cast(hash(user_id, feature_key, cast(occurred_at as date)) % 4294967291 as bigint)' -}}
{% endmacro %}

{% macro postgres__health_usage_fingerprint() %}
    {{- "mod(hashtextextended(concat_ws('|', user_id, feature_key, cast(occurred_at as date)), 0), 4294967291)" -}}
{% endmacro %}


{#-
    The older days (before the recorded first day) that the model recomputes in this
    invocation, as (account_id, usage_date) pairs in health_changed_accounts; the
    model's earlier invocations' rows are dropped. Each reduction's rows are keyed by
    account and day, so a day is redone whole or not at all. Two ways (D37, D49):

    - when the model that produces what it reads changed rows in this invocation
      and recorded which (a base model that staged incrementally, or a usage
      reduction), and this model's last run read that model's last run, only those
      rows can differ: the accounts and days of the rows the base model staged
      (health_staged_scope: a row staged again is staged with every stored version
      of its key, so the day it leaves is there too), or the pairs the reduction
      recorded;
    - else every day, in what the model reads now (`source`, its day `day`) or in
      what it stored, of the accounts whose events and sum of fingerprints before
      the first day differ between the two (events `events`, fingerprint
      `fingerprint` against the stored event_count and event_fingerprint; an account
      on one side only differs too).
-#}
{% macro health_record_changed_accounts() %}
    {%- if this is not none and is_incremental() -%}
        {%- set changes = health_incremental_rule().changes -%}
        {%- set recorded_from = health_recorded_from(this.identifier) -%}
        {%- set producer = health_change_producer(changes.source, recorded_from) -%}
        delete from {{ health_changed_accounts() }}
        where model_name = '{{ this.identifier }}';

        insert into {{ health_changed_accounts() }} (model_name, invocation_id, account_id, usage_date)
        {%- if producer is not none and health_read_last_run_of(
            producer.node.name, producer.runs, producer.changed, health_incremental_runs()) %}
            {%- if producer.kind == 'staging' %}
        select distinct
            '{{ this.identifier }}' as model_name,
            '{{ invocation_id }}' as invocation_id,
            account_id,
            {{ changes.day }} as usage_date
        from {{ producer.relation }}
        where
            {{ health_staged_scope(producer.node.name) }}
            and account_id is not null
            and {{ changes.day }} < {{ recorded_from }}
            {%- else %}
        select
            '{{ this.identifier }}' as model_name,
            '{{ invocation_id }}' as invocation_id,
            account_id,
            usage_date
        from {{ health_changed_accounts() }}
        where
            model_name = '{{ producer.node.name }}'
            and invocation_id = '{{ invocation_id }}'
            {%- endif %}
        {%- else %}
        with now_read as (
            select
                account_id,
                sum({{ changes.events }}) as event_count,
                sum({{ changes.fingerprint }}) as event_fingerprint
            from {{ ref(changes.source) }}
            where {{ changes.day }} < {{ recorded_from }}
            group by account_id
        ),

        stored as (
            select
                account_id,
                sum(event_count) as event_count,
                sum(event_fingerprint) as event_fingerprint
            from {{ this }}
            where usage_date < {{ recorded_from }}
            group by account_id
        ),

        changed as (
            select coalesce(now_read.account_id, stored.account_id) as account_id
            from now_read
            full outer join stored
                on now_read.account_id = stored.account_id
            where
                now_read.account_id is null
                or stored.account_id is null
                or now_read.event_count <> stored.event_count
                or now_read.event_fingerprint <> stored.event_fingerprint
        ),

        changed_days as (
            select
                account_id,
                {{ changes.day }} as usage_date
            from {{ ref(changes.source) }}
            where
                {{ changes.day }} < {{ recorded_from }}
                and account_id in (select changed.account_id from changed)
            union
            select
                account_id,
                usage_date
            from {{ this }}
            where
                usage_date < {{ recorded_from }}
                and account_id in (select changed.account_id from changed)
        )

        select
            '{{ this.identifier }}' as model_name,
            '{{ invocation_id }}' as invocation_id,
            account_id,
            usage_date
        from changed_days
        {%- endif %}
    {%- endif -%}
{% endmacro %}


{#-
    The model that produces what a usage reduction reads (`source`) and records what it
    changed, with where it records its runs and the condition that says it recorded its
    changes in this invocation: a stg_* view's base model (staged incrementally), a usage
    reduction (recomputed from a day no earlier than the reader's `recorded_from`); none
    otherwise.
-#}
{% macro health_change_producer(source, recorded_from) %}
    {%- set node = graph.nodes.get('model.' ~ project_name ~ '.' ~ source) -%}
    {%- if node is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set staging = health_staging_node(node) -%}
    {%- if node.config.meta.get('health_incremental', {}).get('changes') -%}
        {%- set producer = {'kind': 'reduction', 'node': node, 'runs': health_incremental_runs(),
            'changed': 'recompute_from >= ' ~ recorded_from} -%}
    {%- elif staging is not none -%}
        {%- set node = staging -%}
        {%- set producer = {'kind': 'staging', 'node': node, 'runs': health_staging_runs(),
            'changed': 'loaded_after is not null'} -%}
    {%- else -%}
        {{ return(none) }}
    {%- endif -%}
    {%- do producer.update({
        'relation': api.Relation.create(database=node.database, schema=node.schema, identifier=node.alias)}) -%}
    {{ return(producer) }}
{% endmacro %}


{#-
    Whether what the model `producer` recorded of its run in this invocation is all that
    changed, in what the model being built reads, since the model's last run (D37): the
    producer changed rows in this invocation and recorded which (`changed`, a condition on its
    row of `producer_runs`), and the model's last run (its rows of `my_runs`) was in the same
    invocation as the producer's last run before this one, so it read what the producer had
    then. `also`: a further condition. A failed run records nothing: its records roll back with
    it.
-#}
{% macro health_read_last_run_of(producer, producer_runs, changed, my_runs, also=none) %}
    {%- set query -%}
        with mine as (
            select
                invocation_id,
                recorded_at
            from {{ my_runs }}
            where model_name = '{{ this.identifier }}' and invocation_id <> '{{ invocation_id }}'
        ),

        theirs as (
            select
                invocation_id,
                recorded_at
            from {{ producer_runs }}
            where model_name = '{{ producer }}' and invocation_id <> '{{ invocation_id }}'
        )

        select count(*)
        from mine
        inner join theirs on mine.invocation_id = theirs.invocation_id
        where
            mine.recorded_at = (select max(recorded_at) from mine)
            and theirs.recorded_at = (select max(recorded_at) from theirs)
            and exists (
                select 1
                from {{ producer_runs }}
                where
                    model_name = '{{ producer }}'
                    and invocation_id = '{{ invocation_id }}'
                    and {{ changed }}
            )
            {%- if also %}
                and {{ also }}
            {%- endif %}
    {%- endset -%}
    {{ return(run_query(query).columns[0].values()[0] > 0) }}
{% endmacro %}


{#-
    The older days each usage reduction recomputes in this invocation (model_name,
    invocation_id, account_id, usage_date). usage_date came with D49: a warehouse
    built before it gets the column added (its old rows are never read again: a
    model reads only its own invocation's rows).
-#}
{% macro health_changed_accounts() %}
    {{ return(target.schema ~ '.health_changed_accounts') }}
{% endmacro %}


{% macro create_health_changed_accounts() %}
    create table if not exists {{ health_changed_accounts() }} (
        model_name varchar(256),
        invocation_id varchar(64),
        account_id varchar(256),
        usage_date date
    );

    alter table {{ health_changed_accounts() }} add column if not exists usage_date date
{% endmacro %}


{#- The recorded first date of this invocation, as SQL; 1900-01-01 when none is recorded (a build from scratch: every date). -#}
{% macro health_recorded_from(model_name) %}
    {{- return(
        'coalesce((select max(recompute_from) from ' ~ health_incremental_runs()
        ~ " where model_name = '" ~ model_name ~ "' and invocation_id = '" ~ invocation_id ~ "')"
        ~ ", cast('1900-01-01' as date))"
    ) -}}
{% endmacro %}


{% macro health_delete_recomputed() %}
    {%- if this is not none and is_incremental() -%}
        {%- set rule = health_incremental_rule() -%}
        delete from {{ this }}
        where {{ health_recomputed_scope(this.identifier, rule) }}
        {%- if rule.get('changes') %};

        delete from {{ this }}
        where {{ health_changed_days_scope(this.identifier, rule) }}
        {%- endif -%}
    {%- endif -%}
{% endmacro %}


{#-
    The rows an incremental model recomputes in this invocation: its date column
    (as_of_date; usage_date for the usage reductions, or the expression `date` of
    the rows it reads) from the recorded first date on (every date when none is
    recorded: a build from scratch), as a condition (health_recomputed_scope), and,
    for a model with a `changes` rule, the rows of the older days recorded as changed
    (health_changed_days_scope). The delete hook, the model's own read and its
    data tests use these definitions (`rule`: the model's meta.health_incremental).
    They are read as two parts, never as `date >= ... or (account_id, day) in (...)`:
    with the `or`, DuckDB reads the account of every stored row to test it; apart,
    no changed day costs nothing (D44).
-#}
{% macro health_recomputed_scope(model_name, rule, date=none) %}
    {%- set column = date or rule.get('date_column') or 'as_of_date' -%}
    ({{ column }} >= {{ health_recorded_from(model_name) }})
{%- endmacro %}


{#-
    The rows of the older days a usage reduction `model_name` recorded as changed in this
    invocation (its account and day: the date column of its `rule`, or the expression `date`
    of the rows it reads), as a condition.
-#}
{% macro health_changed_days_scope(model_name, rule, date=none) %}
    (account_id, {{ date or rule.get('date_column') }}) in (
        select
            changed.account_id,
            changed.usage_date
        from {{ health_changed_accounts() }} as changed
        where
            changed.model_name = '{{ model_name }}'
            and changed.invocation_id = '{{ invocation_id }}'
    )
{%- endmacro %}


{#-
    The rows of `relation` that the incremental model `model_name` recomputes, as a query:
    the dates from the recorded first one, and, with a `changes` rule, the rows of the older
    days recorded as changed.
-#}
{% macro health_recomputed_rows(relation, model_name, rule, date=none) %}
    {%- set scope = health_recomputed_scope(model_name, rule, date) -%}
    select * from {{ relation }}
    where {{ scope }}
    {%- if rule.get('changes') %}

    union all

    select * from {{ relation }}
    where
        not coalesce({{ scope }}, false)
        and {{ health_changed_days_scope(model_name, rule, date) }}
    {%- endif -%}
{% endmacro %}


{#- The rule of the model being built, from its config (health_as_of_incremental, health_usage_incremental). -#}
{% macro health_incremental_rule() %}
    {{ return(config.get('meta', {}).get('health_incremental', {})) }}
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


{% macro health_record_recompute_from() %}
    {%- set recompute_from = health_recompute_from() -%}
    insert into {{ health_incremental_runs() }}
    values (
        '{{ this.identifier }}',
        '{{ invocation_id }}',
        {% if recompute_from is none %}null{% else %}cast('{{ recompute_from }}' as date){% endif %},
        {{ health_run_started_at() }}
    )
{% endmacro %}


{#-
    When this dbt invocation started (run_started_at, UTC), as a timestamp: the recorded_at of
    its records (health_incremental_runs, health_staging_runs) and the staged_at of the rows its
    base models write (D40), so a row's staged_at names the run that staged it.
-#}
{% macro health_run_started_at() %}
    {{- return("cast('" ~ run_started_at.strftime('%Y-%m-%d %H:%M:%S.%f') ~ "' as timestamp)") -}}
{% endmacro %}


{#-
    The data tests of an incremental model test the rows
    this invocation wrote: the whole table after a build from scratch, only the
    recomputed dates after a daily run (the older dates were tested when they
    were written and are not rewritten). The same holds for staging: a base_*
    model and its stg_* view are tested on the rows the run staged
    (health_staged_scope, D36). dbt's generic tests read their model
    through get_where_subquery; singular tests call health_test_relation.
-#}
{% macro health_test_relation(relation) %}
    {%- if not execute or relation is string -%}
        {{ return(relation) }}
    {%- endif -%}
    {%- for candidate in graph.nodes.values() if candidate.resource_type == 'model'
        and candidate.alias == relation.identifier -%}
        {%- if 'health_incremental' in candidate.config.meta -%}
            {{ return('(' ~ health_recomputed_rows(relation, candidate.name, candidate.config.meta.health_incremental) ~ ')') }}
        {%- else -%}
            {%- set staging = health_staging_node(candidate) -%}
            {%- if staging is none -%}
                {{ return(relation) }}
            {%- endif -%}
            {%- set scope = health_staged_scope(staging.name) -%}
        {%- endif -%}
        {{ return('(select * from ' ~ relation ~ ' where ' ~ scope ~ ')') }}
    {%- endfor -%}
    {{ return(relation) }}
{% endmacro %}


{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- set tested = health_test_relation(relation) if not model.sources else health_tested_source(relation) -%}
    {%- if where -%}
        {{ return('(select * from ' ~ tested ~ ' where ' ~ where ~ ') dbt_subquery') }}
    {%- elif tested is string -%}
        {{ return(tested ~ ' dbt_subquery') }}
    {%- else -%}
        {{ return(relation) }}
    {%- endif -%}
{%- endmacro %}

{#-
    Raw columns reach staging as text. These macros turn that text into a typed
    value, or null when it is empty or does not parse, so that staging can tell a
    missing value from a malformed one and quarantine the row with a reason.
-#}

{% macro raw_text(column) -%}
    nullif(trim(cast({{ column }} as varchar)), '')
{%- endmacro %}


{#- contract_type: integer | decimal | boolean | date | timestamp (UTC) -#}
{% macro cast_raw(column, contract_type) -%}
    {{ return(adapter.dispatch('cast_raw', 'customer_health')(column, contract_type)) }}
{%- endmacro %}


{% macro duckdb__cast_raw(column, contract_type) -%}
    {%- set text = raw_text(column) -%}
    {%- if contract_type == 'integer' -%}
        try_cast({{ text }} as bigint)
    {%- elif contract_type == 'decimal' -%}
        try_cast({{ text }} as decimal(18, 2))
    {%- elif contract_type == 'boolean' -%}
        try_cast({{ text }} as boolean)
    {%- elif contract_type == 'date' -%}
        case when regexp_matches({{ text }}, '^\d{4}-\d{2}-\d{2}$') then try_cast({{ text }} as date) end
    {%- elif contract_type == 'timestamp' -%}
        {#- A value with an offset is converted to UTC; one without is UTC already. -#}
        case
            when regexp_matches({{ text }}, '^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}(:?\d{2})?)?$')
                then try_cast({{ text }} as timestamptz) at time zone 'UTC'
        end
    {%- else -%}
        {{ exceptions.raise_compiler_error("cast_raw: unknown contract type " ~ contract_type) }}
    {%- endif -%}
{%- endmacro %}


{#- PostgreSQL has no try_cast: the functions are created by create_try_cast_functions(). -#}
{% macro postgres__cast_raw(column, contract_type) -%}
    {%- if contract_type in ['integer', 'decimal', 'boolean', 'date', 'timestamp'] -%}
        {{ target.schema }}_util.try_cast_{{ contract_type }}({{ raw_text(column) }})
    {%- else -%}
        {{ exceptions.raise_compiler_error("cast_raw: unknown contract type " ~ contract_type) }}
    {%- endif -%}
{%- endmacro %}


{#- The function bodies are PL/pgSQL: sqlfluff's DuckDB layout rules don't apply. -#}
-- noqa: disable=all
{% macro create_try_cast_functions() %}
    {%- if target.type == 'postgres' -%}
        {%- set schema = target.schema ~ '_util' -%}
        {%- set casts = {
            'integer': 'bigint',
            'decimal': 'numeric(18, 2)',
            'boolean': 'boolean',
            'date': 'date',
            'timestamp': 'timestamp',
        } -%}
        create schema if not exists {{ schema }};
        {%- for name, sql_type in casts.items() %}
        create or replace function {{ schema }}.try_cast_{{ name }}(value text) returns {{ sql_type }}
        language plpgsql immutable as $$
        begin
            {%- if name == 'date' %}
            if value !~ '^\d{4}-\d{2}-\d{2}$' then return null; end if;
            {%- elif name == 'timestamp' %}
            if value !~ '^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}(:?\d{2})?)?$' then return null; end if;
            if value ~ '[T ]\d{2}:\d{2}.*(Z|[+-]\d{2}(:?\d{2})?)$' then
                return (value::timestamptz) at time zone 'UTC';
            end if;
            {%- endif %}
            return value::{{ sql_type }};
        exception when others then
            return null;
        end
        $$;
        {%- endfor %}
    {%- endif -%}
{% endmacro %}

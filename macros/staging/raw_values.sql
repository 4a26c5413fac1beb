{#-
    Raw columns reach staging as text. These macros turn that text into a typed
    value, or null when it is empty or does not parse, so that staging can tell a
    missing value from a malformed one and quarantine the row with a reason.
-#}

{% macro raw_text(column) -%}
    nullif(trim(cast({{ column }} as varchar)), '')
{%- endmacro %}


{#- Whether a raw value is there at all (not null, not blank): missing and malformed are different reasons. -#}
{% macro raw_is_present(column) -%}
    {{ return(adapter.dispatch('raw_is_present', 'customer_health')(column)) }}
{%- endmacro %}


{% macro default__raw_is_present(column) -%}
    ({{ raw_text(column) }} is not null)
{%- endmacro %}


{#- A typed Parquet column is never blank: it is there when it is not null (typeof() is folded at planning). -#}
{% macro duckdb__raw_is_present(column) -%}
    (case when typeof({{ column }}) = 'VARCHAR' then {{ raw_text(column) }} is not null else {{ column }} is not null end)
{%- endmacro %}


{#- contract_type: integer | decimal | boolean | date | timestamp (UTC) -#}
{% macro cast_raw(column, contract_type) -%}
    {{ return(adapter.dispatch('cast_raw', 'customer_health')(column, contract_type)) }}
{%- endmacro %}


{#-
    Text (CSV, or a Parquet column written as text) is parsed by duckdb__cast_text. A Parquet
    column that is already typed (the union with the source's typed empty row keeps its type) is
    converted by a plain cast: no round trip through text, the largest cost of staging (D26).
-#}
{% macro duckdb__cast_raw(column, contract_type) -%}
    {%- set sql_types = {
        'integer': 'bigint', 'decimal': 'decimal(18, 2)', 'boolean': 'boolean', 'date': 'date',
        'timestamp': 'timestamp'} -%}
    {%- if contract_type not in sql_types -%}
        {{ exceptions.raise_compiler_error("cast_raw: unknown contract type " ~ contract_type) }}
    {%- endif -%}
    case
        when typeof({{ column }}) = 'VARCHAR' then {{ duckdb__cast_text(column, contract_type) }}
        else try_cast({{ column }} as {{ sql_types[contract_type] }})
    end
{%- endmacro %}


{% macro duckdb__cast_text(column, contract_type) -%}
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
        {#-
            A value with an offset is converted to UTC; one without is UTC already, and is parsed
            as a plain timestamp: the same value, three times faster than through timestamptz.
        -#}
        case
            when not regexp_matches({{ text }}, '^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}(:?\d{2})?)?$')
                then null
            when regexp_matches({{ text }}, '(Z|[+-]\d{2}(:?\d{2})?)$')
                then try_cast({{ text }} as timestamptz) at time zone 'UTC'
            else try_cast({{ text }} as timestamp)
        end
    {%- endif -%}
{%- endmacro %}


{#-
    PostgreSQL has no try_cast: cast_raw calls functions that create_try_cast_functions()
    creates in the schema <target schema>_util (an on-run-start hook). They accept and
    convert exactly what duckdb__cast_raw does, whatever the session's TimeZone.
-#}
{% macro postgres__cast_raw(column, contract_type) -%}
    {%- if contract_type in ['integer', 'decimal', 'boolean', 'date', 'timestamp'] -%}
        {{ target.schema }}_util.try_cast_{{ contract_type }}({{ raw_text(column) }})
    {%- else -%}
        {{ exceptions.raise_compiler_error("cast_raw: unknown contract type " ~ contract_type) }}
    {%- endif -%}
{%- endmacro %}


{#-
    The try_cast_<type>(text) functions of postgres__cast_raw, in <target schema>_util.

    Each is a SQL function that PostgreSQL inlines into the query: a value that a strict
    pattern proves castable (nearly all of them) is cast directly; one that only the loose
    pattern of duckdb__cast_raw accepts (a 29 February, 24:00:00, more than six fractional
    digits, an integer written 1.5 or 1e3) goes to a PL/pgSQL twin that tries the cast and
    returns null when it fails, so the cost of an exception block is paid only for those.
    The inlined functions are declared volatile (they are not: it changes nothing of their
    results) because PostgreSQL then keeps the CTE that calls them (`typed` in the base_*
    models) as a CTE computed once, instead of folding it into the query that uses it, where
    each reference to a typed column would repeat the cast (PostgreSQL has no common
    subexpression elimination): 3 to 5 times fewer casts on the base models.
    DuckDB's behaviour is the reference: integers round half away from zero ('1.5' -> 2),
    decimals round to cents, booleans are true/t/yes/y/1 or false/f/no/n/0 in any case,
    timestamps without an offset are UTC and offsets are converted to UTC, a date followed by
    an offset, a leap second and fractional digits past the sixth (truncated) as in DuckDB.
    Emits nothing on other adapters, so the hook is harmless on DuckDB.
-#}
-- noqa: disable=all
{% macro create_try_cast_functions() %}
    {%- if target.type == 'postgres' -%}
        {%- set schema = target.schema ~ '_util' -%}
        {#- duckdb__cast_raw's patterns (what may be tried at all) -#}
        {%- set loose_number = '^[+-]?(\\d+\\.?\\d*|\\.\\d+)([eE][+-]?\\d+)?$' -%}
        {%- set loose_date = '^\\d{4}-\\d{2}-\\d{2}$' -%}
        {%- set loose_timestamp =
            '^\\d{4}-\\d{2}-\\d{2}([T ]\\d{2}:\\d{2}(:\\d{2}(\\.\\d+)?)?)?(Z|[+-]\\d{2}(:?\\d{2})?)?$' -%}
        {#- Strict patterns: a match always casts without an error. -#}
        {%- set strict_date =
            '\\d{4}-((0[1-9]|1[0-2])-(0[1-9]|1\\d|2[0-8])|(0[13-9]|1[0-2])-(29|30)|(0[13578]|1[02])-31)' -%}
        {%- set strict_time = '[T ]([01]\\d|2[0-3]):[0-5]\\d(:[0-5]\\d(\\.\\d{1,6})?)?' -%}
        {%- set strict_offset = '(Z|[+-](0\\d|1[0-5])(:?[0-5]\\d)?)' -%}
        create schema if not exists {{ schema }};

        create or replace function {{ schema }}.try_cast_integer_slow(value text) returns bigint
        language plpgsql immutable parallel safe as $$
        begin
            if value !~ '{{ loose_number }}' then return null; end if;
            return round(value::numeric)::bigint;
        exception when others then
            return null;
        end
        $$;

        create or replace function {{ schema }}.try_cast_integer(value text) returns bigint
        language sql volatile parallel safe as $$
            select case
                when value ~ '^[+-]?\d{1,18}$' then value::bigint
                when value ~ '{{ loose_number }}' then {{ schema }}.try_cast_integer_slow(value)
            end
        $$;

        create or replace function {{ schema }}.try_cast_decimal_slow(value text) returns numeric(18, 2)
        language plpgsql immutable parallel safe as $$
        begin
            if value !~ '{{ loose_number }}' then return null; end if;
            return value::numeric(18, 2);
        exception when others then
            return null;
        end
        $$;

        create or replace function {{ schema }}.try_cast_decimal(value text) returns numeric(18, 2)
        language sql volatile parallel safe as $$
            select case
                when value ~ '^[+-]?(\d{1,15}(\.\d*)?|\.\d+)$' then value::numeric(18, 2)
                when value ~ '{{ loose_number }}' then {{ schema }}.try_cast_decimal_slow(value)
            end
        $$;

        create or replace function {{ schema }}.try_cast_boolean(value text) returns boolean
        language sql volatile parallel safe as $$
            select case
                when lower(value) in ('true', 't', 'yes', 'y', '1') then true
                when lower(value) in ('false', 'f', 'no', 'n', '0') then false
            end
        $$;

        create or replace function {{ schema }}.try_cast_date_slow(value text) returns date
        language plpgsql stable parallel safe as $$
        begin
            if value !~ '{{ loose_date }}' then return null; end if;
            return value::date;
        exception when others then
            return null;
        end
        $$;

        create or replace function {{ schema }}.try_cast_date(value text) returns date
        language sql volatile parallel safe as $$
            select case
                when value ~ '^{{ strict_date }}$' then value::date
                when value ~ '{{ loose_date }}' then {{ schema }}.try_cast_date_slow(value)
            end
        $$;

        create or replace function {{ schema }}.try_cast_timestamp_slow(value text) returns timestamp
        language plpgsql stable parallel safe as $$
        declare
            parts text[];
        begin
            if value !~ '{{ loose_timestamp }}' then return null; end if;
            -- DuckDB reads neither a date with an offset but no time nor a leap second.
            if value ~ '^\d{4}-\d{2}-\d{2}[Z+-]' or value ~ ':\d{2}:60' then return null; end if;
            -- DuckDB truncates fractional seconds to microseconds; PostgreSQL would round.
            value := regexp_replace(value, '(\.\d{6})\d+', '\1');
            if value ~ '\d(Z|[+-]\d{2}(:?\d{2})?)$' and length(value) > 10 then
                return (value::timestamptz) at time zone 'UTC';
            end if;
            return value::timestamp;
        exception when others then
            return null;
        end
        $$;

        create or replace function {{ schema }}.try_cast_timestamp(value text) returns timestamp
        language sql volatile parallel safe as $$
            select case
                when value ~ '^{{ strict_date }}({{ strict_time }})?$' then value::timestamp
                when value ~ '^{{ strict_date }}{{ strict_time }}{{ strict_offset }}$'
                    then value::timestamptz at time zone 'UTC'
                when value ~ '{{ loose_timestamp }}' then {{ schema }}.try_cast_timestamp_slow(value)
            end
        $$;
    {%- endif -%}
{% endmacro %}

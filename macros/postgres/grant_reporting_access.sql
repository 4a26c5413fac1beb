{#-
    grant_reporting_access(): the read-only reporting role may read the public tables (the
    target schema, where the marts are) and nothing else. Called by an on-run-end hook.

    On PostgreSQL, for the role named by HEALTH_PG_REPORTING_ROLE (default health_reporting;
    empty: do nothing):
    - created, without login, when missing and the build's user may create roles (an
      administrator then grants it to people: `grant health_reporting to alice`); otherwise
      a missing role fails the hook with a message saying what to do;
    - connect on the database, usage on the target schema, select on every table and view
      in it (and on the ones created there later by this user), and nothing more: any other
      privilege it holds there is revoked;
    - every privilege on the other schemas this user owns (staging, intermediate, config,
      <target>_util, raw_*) is revoked, so personal data in the raw tables stays out of reach.
    dbt replaces a table on every build, which drops its grants: that is why this runs at the
    end of every run. On other adapters (DuckDB: a file, no roles) it emits nothing.
-#}
{% macro grant_reporting_access() -%}
    {{ return(adapter.dispatch('grant_reporting_access', 'customer_health')()) }}
{%- endmacro %}


{% macro default__grant_reporting_access() -%}
{%- endmacro %}


-- noqa: disable=all
{% macro postgres__grant_reporting_access() -%}
    {%- set role = env_var('HEALTH_PG_REPORTING_ROLE', 'health_reporting') | trim -%}
    {%- if role -%}
        do $grant$
        declare
            reporting text := {{ dbt.string_literal(role) }};
            published text := {{ dbt.string_literal(target.schema) }};
            other record;
        begin
            if not exists (select from pg_roles where rolname = reporting) then
                if exists (
                    select from pg_roles where rolname = current_user and (rolcreaterole or rolsuper)
                ) then
                    execute format('create role %I nologin', reporting);
                    raise notice 'created the reporting role % (nologin): grant it to the people who read the marts',
                        reporting;
                else
                    raise exception 'the reporting role % does not exist and % may not create it: '
                        'create it (create role % nologin) or set HEALTH_PG_REPORTING_ROLE', reporting,
                        current_user, reporting;
                end if;
            end if;
            for other in
                select nspname from pg_namespace
                where nspowner = (select oid from pg_roles where rolname = current_user)
                    and nspname <> published
            loop
                execute format('revoke all on schema %I from %I', other.nspname, reporting);
                execute format('revoke all on all tables in schema %I from %I', other.nspname, reporting);
                execute format('revoke all on all sequences in schema %I from %I', other.nspname, reporting);
                execute format('revoke all on all functions in schema %I from %I', other.nspname, reporting);
            end loop;
            execute format('grant connect on database %I to %I', current_database(), reporting);
            execute format('revoke all on schema %I from %I', published, reporting);
            execute format('grant usage on schema %I to %I', published, reporting);
            execute format('revoke all on all tables in schema %I from %I', published, reporting);
            execute format('grant select on all tables in schema %I to %I', published, reporting);
            execute format('alter default privileges in schema %I grant select on tables to %I', published,
                reporting);
        end
        $grant$
    {%- endif -%}
{%- endmacro %}

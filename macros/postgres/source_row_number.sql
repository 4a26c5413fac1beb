{#-
    source_row_number(): the row's position in its raw file (1, 2, ...), for the base_*
    models (DECISIONLOG D5, D7: file order breaks ties between versions of a key and names
    quarantined rows).

    DuckDB: the source relation (external_location, `health sources`) has file_row_number,
    numbered by read_parquet during its parallel scan, or by `row_number() over ()` in scan
    order for a CSV file (preserve_insertion_order); `row_number() over ()` on every source
    made each Parquet scan single-threaded (D32).
    PostgreSQL: a scan's order is not the file's in general (a parallel scan, or a
    synchronized scan joining another one halfway through a large table), so the rows are
    numbered in their physical order, `ctid`: `health load` writes every raw table anew with
    one COPY in file order, so physical order is file order.
-#}
{% macro source_row_number() -%}
    {{ return(adapter.dispatch('source_row_number', 'customer_health')()) }}
{%- endmacro %}


{% macro default__source_row_number() -%}
    file_row_number + 1
{%- endmacro %}


{% macro postgres__source_row_number() -%}
    row_number() over (order by ctid)
{%- endmacro %}

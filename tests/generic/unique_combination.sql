{#-
    The grain of a model is a combination of columns: no two rows share it. The query,
    by adapter (hash-first on DuckDB, D38), is in macros/tests/uniqueness.sql: dispatch
    finds no macro defined in a test file.
-#}
{% test unique_combination(model, columns) %}
    {{ adapter.dispatch('unique_combination_sql')(model, columns) }}
{% endtest %}

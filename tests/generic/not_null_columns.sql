{#-
    None of the listed columns of a model is null: one data test per model, declared on the model,
    not one per column (D48: each test node costs dbt about 30 ms of its own work, more than the
    query). One pass over the rows; it returns one row per column that has nulls, with how many,
    and `health build` prints those rows when the test fails, so a failure still names the column.
    Nulls are counted as count(*) - count(column): DuckDB 2.0.0 plans
    `sum(case when column is null then 1 else 0 end)`, filtered on > 0, as an empty result when the
    rows tested are those of a daily run's scope with no recorded date (D48).
-#}
{% test not_null_columns(model, columns) %}
    with null_counts as (

        select
            {% for column in columns -%}
                count(*) - count({{ column }}) as nulls_{{ loop.index }}{{ "," if not loop.last }}
            {% endfor %}
        from {{ model }}

    )

    {% for column in columns %}
        select
            '{{ column }}' as column_name,
            nulls_{{ loop.index }} as null_rows
        from null_counts
        where nulls_{{ loop.index }} > 0
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
{% endtest %}

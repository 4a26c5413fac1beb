{#- An invariant written as a boolean SQL expression: every row must satisfy it.
    Attached to a column, the expression still names the column itself. -#}
{% test expression_is_true(model, expression, column_name=none) %}

select *
from {{ model }}
where not ({{ expression }})

{% endtest %}

{#- An invariant written as a boolean SQL expression: every row must satisfy it. -#}
{% test expression_is_true(model, expression) %}

select *
from {{ model }}
where not ({{ expression }})

{% endtest %}

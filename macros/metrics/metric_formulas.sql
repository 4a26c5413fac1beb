{#-
    Aggregate formulas used at more than one grain (an account as of a date, the
    company in a month): each is defined here once, as the health model states it
    (docs: models/intermediate/_metrics__docs.md). Each returns null when there is
    nothing to aggregate, which is the "missing when" rule of those metrics.
-#}

{#- NPS: 100 x (promoters 9-10 - detractors 0-6) / responses. -#}
{% macro nps(score) -%}
    100.0 * (
        count(case when {{ score }} >= 9 then 1 end)
        - count(case when {{ score }} <= 6 then 1 end)
    ) / nullif(count({{ score }}), 0)
{%- endmacro %}


{#- CSAT: 100 x responses scoring 4 or 5 / responses. -#}
{% macro csat(score) -%}
    100.0 * count(case when {{ score }} >= 4 then 1 end) / nullif(count({{ score }}), 0)
{%- endmacro %}


{#- First-contact resolution: 100 x solved tickets with at most one agent reply and
    no reopen / solved tickets. A ticket whose counts are unknown (null) does not
    count as resolved at first contact. -#}
{% macro first_contact_resolution(agent_reply_count, reopen_count) -%}
    100.0 * count(case when {{ agent_reply_count }} <= 1 and {{ reopen_count }} = 0 then 1 end)
    / nullif(count(*), 0)
{%- endmacro %}


{#- Hours from one timestamp to another, to the second. -#}
{% macro hours_between(start_at, end_at) -%}
    ({{ dbt.datediff(start_at, end_at, 'second') }} / 3600.0)
{%- endmacro %}


{#- 100 x numerator / denominator, null when the denominator is 0 or null. -#}
{% macro pct(numerator, denominator) -%}
    (100.0 * ({{ numerator }}) / nullif({{ denominator }}, 0))
{%- endmacro %}

{#- Custom schemas are used as named (staging, intermediate, config), not prefixed
    with the target schema: readers find `staging.stg_crm__accounts`. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}

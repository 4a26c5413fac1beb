{#-
    For every raw table: rows in the file, rows staged, older versions superseded
    by a later one, and rows quarantined. The raw count is taken from the source
    itself, so a test that raw = staged + superseded + quarantined catches any row
    that staging lost or doubled.
-#}

{%- set raw_tables = [
    ('crm', 'accounts'),
    ('crm', 'contacts'),
    ('crm', 'activities'),
    ('crm', 'opportunities'),
    ('billing', 'subscription_periods'),
    ('billing', 'invoices'),
    ('billing', 'orders'),
    ('billing', 'returns'),
    ('support', 'tickets'),
    ('support', 'csat_responses'),
    ('surveys', 'nps_responses'),
    ('product', 'users'),
    ('product', 'usage_events'),
    ('product', 'features'),
    ('product', 'onboarding_steps'),
    ('product', 'feedback')
] %}

with counts as (
    {% for source_name, table_name in raw_tables %}
        select
            '{{ source_name }}.{{ table_name }}' as source_table,
            (select count(*) from {{ source(source_name, table_name) }}) as raw_rows,
            (select count(*) from {{ ref('stg_' ~ source_name ~ '__' ~ table_name) }}) as staged_rows,
            (
                select count(*) from {{ ref('base_' ~ source_name ~ '__' ~ table_name) }}
                where is_superseded
            ) as superseded_rows,
            (
                select count(*) from {{ ref('quarantined_rows') }}
                where source_table = '{{ source_name }}.{{ table_name }}'
            ) as quarantined_rows
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

final as (

    select
        source_table,
        raw_rows,
        staged_rows,
        superseded_rows,
        quarantined_rows,
        raw_rows - staged_rows - superseded_rows - quarantined_rows as unaccounted_rows
    from counts

)

select * from final

{#-
    Every raw row that breaks the contract, from every table: where it came from
    (table and position in the file), its key, and why it was kept out of staging.
    Nothing is dropped silently: raw_reconciliation proves that every raw row is
    either staged, superseded by a later version, or here.
-#}

{%- set raw_tables = [
    ('crm', 'accounts', ['account_id']),
    ('crm', 'contacts', ['contact_id']),
    ('crm', 'activities', ['activity_id']),
    ('crm', 'opportunities', ['opportunity_id']),
    ('billing', 'subscription_periods', ['period_id']),
    ('billing', 'invoices', ['invoice_id']),
    ('billing', 'orders', ['order_id']),
    ('billing', 'returns', ['return_id']),
    ('support', 'tickets', ['ticket_id']),
    ('support', 'csat_responses', ['response_id']),
    ('surveys', 'nps_responses', ['response_id']),
    ('product', 'users', ['user_id']),
    ('product', 'usage_events', ['event_id']),
    ('product', 'features', ['feature_key']),
    ('product', 'onboarding_steps', ['account_id', 'step_key']),
    ('product', 'feedback', ['feedback_id'])
] %}

with quarantined as (
    {% for source_name, table_name, key_columns in raw_tables %}
        select
            '{{ source_name }}.{{ table_name }}' as source_table,
            source_row_number,
            {% for key_column in key_columns -%}
                coalesce(cast({{ key_column }} as varchar), '')
                {%- if not loop.last %} || '|' || {% endif %}
            {%- endfor %} as record_key,
            quarantine_reason,
            loaded_at
        from {{ ref('base_' ~ source_name ~ '__' ~ table_name) }}
        where quarantine_reason is not null
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

final as (

    select
        source_table,
        source_row_number,
        record_key,
        split_part(quarantine_reason, ':', 1) as reason_code,
        nullif(split_part(quarantine_reason, ':', 2), '') as column_name,
        quarantine_reason,
        loaded_at
    from quarantined

)

select * from final

{#-
    The dates every account-level figure is computed as of: a cadence over the
    history (var as_of_cadence: week = Sundays, the default; day; month = last
    days of months) plus the latest date. The latest date is var as_of_date (or
    HEALTH_AS_OF), else the last day that has data: no model reads the wall clock.
-#}

{%- set cadence = var('as_of_cadence', env_var('HEALTH_AS_OF_CADENCE', 'week')) -%}
{%- set as_of = var('as_of_date', env_var('HEALTH_AS_OF', '')) -%}
{%- if cadence not in ['day', 'week', 'month'] -%}
    {{ exceptions.raise_compiler_error("as_of_cadence must be day, week or month, not " ~ cadence) }}
{%- endif -%}

with data_days as (

    select cast(occurred_at as date) as data_date from {{ ref('stg_product__usage_events') }}
    union all
    select cast(created_at as date) from {{ ref('stg_support__tickets') }}
    union all
    select cast(issued_at as date) from {{ ref('stg_billing__invoices') }}
    union all
    select cast(occurred_at as date) from {{ ref('stg_crm__activities') }}
    union all
    select cast(responded_at as date) from {{ ref('stg_surveys__nps_responses') }}
    union all
    select cast(ordered_at as date) from {{ ref('stg_billing__orders') }}
    union all
    select period_start from {{ ref('stg_billing__subscription_periods') }}

),

bounds as (

    select
        min(data_date) as first_date,
        {% if as_of -%}
            cast('{{ as_of }}' as date)
        {%- else -%}
            max(data_date)
        {%- endif %} as latest_date
    from data_days

),

days as (

    select
        cast({{ dbt.dateadd('day', 'series.generated_number - 1', 'bounds.first_date') }} as date) as as_of_date,
        bounds.latest_date
    from bounds
    cross join ({{ dbt.generate_series(8192) }}) as series

),

final as (

    select
        as_of_date,
        as_of_date = latest_date as is_latest
    from days
    where
        as_of_date <= latest_date
        and (
            as_of_date = latest_date
            {% if cadence == 'day' -%}
                or true
            {%- elif cadence == 'week' -%}
                or {{ dbt.datediff("cast('2000-01-02' as date)", 'as_of_date', 'day') }} % 7 = 0
            {%- else -%}
                or extract(day from {{ dbt.dateadd('day', 1, 'as_of_date') }}) = 1
            {%- endif %}
        )

)

select * from final

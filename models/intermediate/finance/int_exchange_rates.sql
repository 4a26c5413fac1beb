{#-
    The rate that turns one unit of a currency into the reporting currency
    (var reporting_currency, default USD), as a date interval per seed month:
    an amount dated d converts at the row with valid_from <= d < valid_to. The
    first and last months of the seed stretch to cover any earlier or later date.
-#}

{%- set reporting_currency = var('reporting_currency', 'USD') | upper -%}

with rates as (

    select
        cast(rate_month as date) as rate_month,
        upper(trim(currency_code)) as currency_code,
        cast(usd_per_unit as double precision) as usd_per_unit
    from {{ ref('exchange_rates') }}

),

reporting as (

    select
        rate_month,
        usd_per_unit as reporting_usd_per_unit
    from rates
    where currency_code = '{{ reporting_currency }}'

),

converted as (

    select
        rates.currency_code,
        rates.rate_month,
        lead(rates.rate_month) over (partition by rates.currency_code order by rates.rate_month) as next_rate_month,
        row_number() over (partition by rates.currency_code order by rates.rate_month) as month_number,
        rates.usd_per_unit / reporting.reporting_usd_per_unit as to_reporting_rate
    from rates
    inner join reporting
        on rates.rate_month = reporting.rate_month

),

final as (

    select
        currency_code,
        case when month_number = 1 then cast('1900-01-01' as date) else rate_month end as valid_from,
        coalesce(next_rate_month, cast('9999-12-31' as date)) as valid_to,
        to_reporting_rate
    from converted

)

select * from final

{#- Every factor of health_factors names a column of int_account_metrics (a metric of
    the health model). A key that is not would be missing for every account. -#}

with factors as (

    select * from {{ ref('health_factors') }}

),

metric_columns as (

    select lower(columns.column_name) as column_name
    from information_schema.columns as columns
    where
        lower(columns.table_schema) = lower('{{ ref("int_account_metrics").schema }}')
        and lower(columns.table_name) = lower('{{ ref("int_account_metrics").identifier }}')

),

final as (

    select factors.factor_key
    from factors
    left join metric_columns
        on factors.factor_key = metric_columns.column_name
    where metric_columns.column_name is null

)

select * from final

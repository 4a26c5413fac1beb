{#-
    Support tickets reduced once to account x day of creation: the trailing
    windows of int_support_metrics sum these rows instead of rescanning tickets
    per as-of date. A ticket is created on the UTC date of created_at.
-#}

with tickets as (

    select * from {{ ref('stg_support__tickets') }}

),

created_tickets as (

    select
        account_id,
        cast(created_at as date) as created_date,
        priority in ('high', 'urgent') as is_urgent
    from tickets

),

final as (

    select
        account_id,
        created_date,
        count(*) as tickets_created,
        count(case when is_urgent then 1 end) as urgent_tickets_created
    from created_tickets
    group by
        account_id,
        created_date

)

select * from final

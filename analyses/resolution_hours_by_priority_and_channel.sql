{#-
    Mean (and median) resolution time by ticket priority and channel, over the
    tickets solved in the trailing 90 days before the latest as-of date (the
    window of avg_resolution_hours), with first-contact resolution from the same
    shared macro as the account metric. Tickets without a priority or channel
    show as 'unknown'.
-#}

{%- set window_days = var('resolution_window_days', 90) %}

with tickets as (

    select * from {{ ref('stg_support__tickets') }}

),

as_of_dates as (

    select * from {{ ref('int_as_of_dates') }}

),

latest as (

    select
        as_of_date as latest_date,
        cast({{ dbt.dateadd('day', '1 - ' ~ window_days, 'as_of_date') }} as date) as window_start
    from as_of_dates
    where is_latest

),

solved_tickets as (

    select
        coalesce(tickets.priority, 'unknown') as priority,
        coalesce(tickets.channel, 'unknown') as channel,
        {{ hours_between('tickets.created_at', 'tickets.solved_at') }} as resolution_hours,
        tickets.agent_reply_count,
        tickets.reopen_count
    from tickets
    inner join latest
        on
            cast(tickets.solved_at as date) >= latest.window_start
            and cast(tickets.solved_at as date) <= latest.latest_date

),

final as (

    select
        priority,
        channel,
        count(*) as solved_tickets,
        avg(resolution_hours) as mean_resolution_hours,
        percentile_cont(0.5) within group (order by resolution_hours) as median_resolution_hours,
        {{ first_contact_resolution('agent_reply_count', 'reopen_count') }} as first_contact_resolution_rate
    from solved_tickets
    group by
        priority,
        channel

)

select * from final
order by
    case priority when 'urgent' then 1 when 'high' then 2 when 'normal' then 3 when 'low' then 4 else 5 end,
    channel

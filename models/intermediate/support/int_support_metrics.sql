{{ config(**health_as_of_incremental()) }}
{%- set recompute_from = health_recompute_from() %}

{#-
    Support metrics of every account as of every as-of date (docs:
    _support__docs.md). Ticket creation is read from the daily aggregate
    int_support_daily; the solved-ticket metrics aggregate solved tickets with
    the shared formula macros. A ticket is solved as of D when solved_at is on or
    before the end of D (a ticket solved after D was unsolved on D).
-#}

with spine as (

    select * from {{ ref('int_account_as_of_dates') }}
    {{ health_dates_from(recompute_from) }}

),

as_of_dates as (

    select * from {{ ref('int_as_of_dates') }}
    {{ health_dates_from(recompute_from) }}

),

support_daily as (

    select * from {{ ref('int_support_daily') }}

),

tickets as (

    select * from {{ ref('stg_support__tickets') }}

),

windows as (

    select
        as_of_date,
        cast({{ dbt.dateadd('day', -29, 'as_of_date') }} as date) as window_30_start,
        cast({{ dbt.dateadd('day', -89, 'as_of_date') }} as date) as window_90_start,
        cast({{ dbt.dateadd('day', -119, 'as_of_date') }} as date) as window_120_start
    from as_of_dates

),

-- Tickets created in the trailing 30 days, in the 90 days before those (D-119 .. D-30),
-- and urgent tickets created in the trailing 90 days.
created_windows as (

    select
        support_daily.account_id,
        windows.as_of_date,
        sum(
            case
                when support_daily.created_date >= windows.window_30_start
                    then support_daily.tickets_created
                else 0
            end
        ) as tickets_created_30d,
        sum(
            case
                when support_daily.created_date < windows.window_30_start
                    then support_daily.tickets_created
                else 0
            end
        ) as tickets_created_prior_90d,
        sum(
            case
                when support_daily.created_date >= windows.window_90_start
                    then support_daily.urgent_tickets_created
                else 0
            end
        ) as urgent_tickets_90d
    from support_daily
    inner join windows
        on
            support_daily.created_date >= windows.window_120_start
            and support_daily.created_date <= windows.as_of_date
    group by
        support_daily.account_id,
        windows.as_of_date

),

solved_tickets as (

    select
        account_id,
        cast(solved_at as date) as solved_date,
        {{ hours_between('created_at', 'solved_at') }} as resolution_hours,
        agent_reply_count,
        reopen_count
    from tickets
    where solved_at is not null

),

solved_windows as (

    select
        solved_tickets.account_id,
        windows.as_of_date,
        avg(solved_tickets.resolution_hours) as avg_resolution_hours,
        {{ first_contact_resolution('solved_tickets.agent_reply_count', 'solved_tickets.reopen_count') }}
            as first_contact_resolution_rate
    from solved_tickets
    inner join windows
        on
            solved_tickets.solved_date >= windows.window_90_start
            and solved_tickets.solved_date <= windows.as_of_date
    group by
        solved_tickets.account_id,
        windows.as_of_date

),

final as (

    select
        spine.account_id,
        spine.as_of_date,
        cast(solved_windows.avg_resolution_hours as double precision) as avg_resolution_hours,
        cast(solved_windows.first_contact_resolution_rate as double precision) as first_contact_resolution_rate,
        (cast(coalesce(created_windows.tickets_created_30d, 0) as double precision) + 1)
        / (cast(coalesce(created_windows.tickets_created_prior_90d, 0) as double precision) / 3 + 1)
            as ticket_volume_trend,
        cast(coalesce(created_windows.urgent_tickets_90d, 0) as double precision) as urgent_tickets_90d
    from spine
    left join created_windows
        on
            spine.account_id = created_windows.account_id
            and spine.as_of_date = created_windows.as_of_date
    left join solved_windows
        on
            spine.account_id = solved_windows.account_id
            and spine.as_of_date = solved_windows.as_of_date

)

select * from final

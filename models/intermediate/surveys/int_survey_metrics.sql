{{ config(**health_as_of_incremental()) }}
{%- set recompute_from = health_recompute_from() %}

{#-
    Survey metrics of every account as of every as-of date (docs:
    _surveys__docs.md): NPS over the trailing 180 days, CSAT over the trailing
    90 days (a CSAT answer is about a ticket and belongs to the ticket's account),
    and the latest NPS answer on or before D, which the alerts read. A response
    counts as of D when responded_at is on or before the end of D. NPS and CSAT
    use the shared formula macros over the responses of each window.
-#}

with spine as (

    select * from {{ ref('int_account_as_of_dates') }}
    {{ health_dates_from(recompute_from) }}

),

as_of_dates as (

    select * from {{ ref('int_as_of_dates') }}
    {{ health_dates_from(recompute_from) }}

),

nps_responses as (

    select * from {{ ref('stg_surveys__nps_responses') }}

),

csat_responses as (

    select * from {{ ref('stg_support__csat_responses') }}

),

tickets as (

    select * from {{ ref('stg_support__tickets') }}

),

windows as (

    select
        as_of_date,
        cast({{ dbt.dateadd('day', -89, 'as_of_date') }} as date) as window_90_start,
        cast({{ dbt.dateadd('day', -179, 'as_of_date') }} as date) as window_180_start
    from as_of_dates

),

nps_answers as (

    select
        account_id,
        score,
        responded_at,
        cast(responded_at as date) as responded_date,
        -- The day the next answer of the account arrives: this one is the latest until then.
        lead(cast(responded_at as date)) over (
            partition by account_id
            order by responded_at, response_id
        ) as next_responded_date
    from nps_responses

),

csat_answers as (

    select
        tickets.account_id,
        csat_responses.score,
        cast(csat_responses.responded_at as date) as responded_date
    from csat_responses
    inner join tickets
        on csat_responses.ticket_id = tickets.ticket_id

),

nps_windows as (

    select
        nps_answers.account_id,
        windows.as_of_date,
        {{ nps('nps_answers.score') }} as nps
    from nps_answers
    inner join windows
        on
            nps_answers.responded_date >= windows.window_180_start
            and nps_answers.responded_date <= windows.as_of_date
    group by
        nps_answers.account_id,
        windows.as_of_date

),

csat_windows as (

    select
        csat_answers.account_id,
        windows.as_of_date,
        {{ csat('csat_answers.score') }} as csat
    from csat_answers
    inner join windows
        on
            csat_answers.responded_date >= windows.window_90_start
            and csat_answers.responded_date <= windows.as_of_date
    group by
        csat_answers.account_id,
        windows.as_of_date

),

-- Each answer is the latest from its day until the day before the next answer.
last_nps as (

    select
        nps_answers.account_id,
        as_of_dates.as_of_date,
        nps_answers.score as last_nps_score,
        nps_answers.responded_at as last_nps_responded_at
    from nps_answers
    inner join as_of_dates
        on
            nps_answers.responded_date <= as_of_dates.as_of_date
            and coalesce(nps_answers.next_responded_date, cast('9999-12-31' as date)) > as_of_dates.as_of_date

),

final as (

    select
        spine.account_id,
        spine.as_of_date,
        cast(nps_windows.nps as double precision) as nps,
        cast(csat_windows.csat as double precision) as csat,
        cast(last_nps.last_nps_score as double precision) as last_nps_score,
        cast(last_nps.last_nps_responded_at as {{ dbt.type_timestamp() }}) as last_nps_responded_at
    from spine
    left join nps_windows
        on
            spine.account_id = nps_windows.account_id
            and spine.as_of_date = nps_windows.as_of_date
    left join csat_windows
        on
            spine.account_id = csat_windows.account_id
            and spine.as_of_date = csat_windows.as_of_date
    left join last_nps
        on
            spine.account_id = last_nps.account_id
            and spine.as_of_date = last_nps.as_of_date

)

select * from final

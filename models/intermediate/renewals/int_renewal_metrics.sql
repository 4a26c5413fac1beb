{{ config(**health_as_of_incremental()) }}
{%- set recompute_from = health_recompute_from() %}

{#-
    Renewal win rate of every account as of every as-of date (docs:
    _renewals__docs.md). An opportunity carries only its latest stage and a
    close date: a renewal opportunity won or lost counts as closed on its close
    date, and not before the day it was created (as of D, a row created after D
    did not exist). Closed renewals are counted per as-of period once, then
    accumulated over the account's as-of dates.
-#}

with spine as (

    select * from {{ ref('int_account_as_of_dates') }}
    {{ health_dates_from(recompute_from) }}

),

as_of_dates as (

    select * from {{ ref('int_as_of_dates') }}
    {{ health_dates_from(recompute_from) }}

),

opportunities as (

    select * from {{ ref('stg_crm__opportunities') }}

),

-- Each as-of date with the one before it: the days after the previous as-of date,
-- up to and including this one, are this date's period.
as_of_periods as (

    select
        as_of_date,
        coalesce(
            lag(as_of_date) over (order by as_of_date),
            cast('1900-01-01' as date)
        ) as previous_as_of_date
    from as_of_dates

),

account_first_dates as (

    select
        account_id,
        min(as_of_date) as first_as_of_date
    from spine
    group by account_id

),

closed_renewals as (

    select
        account_id,
        stage,
        greatest(close_date, cast(created_at as date)) as closed_date
    from opportunities
    where
        opportunity_type = 'renewal'
        and stage in ('won', 'lost')
        and close_date is not null

),

-- Each renewal goes to the first as-of date on or after its close; one closed
-- before an account's first as-of date goes to that first date.
renewal_periods as (

    select
        closed_renewals.account_id,
        greatest(as_of_periods.as_of_date, account_first_dates.first_as_of_date) as as_of_date,
        closed_renewals.stage
    from closed_renewals
    inner join as_of_periods
        on
            closed_renewals.closed_date > as_of_periods.previous_as_of_date
            and closed_renewals.closed_date <= as_of_periods.as_of_date
    inner join account_first_dates
        on closed_renewals.account_id = account_first_dates.account_id

),

renewals_by_as_of_date as (

    select
        account_id,
        as_of_date,
        count(case when stage = 'won' then 1 end) as renewals_won,
        count(case when stage = 'lost' then 1 end) as renewals_lost
    from renewal_periods
    group by
        account_id,
        as_of_date

),

renewals_running as (

    select
        spine.account_id,
        spine.as_of_date,
        sum(coalesce(renewals_by_as_of_date.renewals_won, 0)) over (
            partition by spine.account_id
            order by spine.as_of_date
            rows between unbounded preceding and current row
        ) as renewals_won,
        sum(coalesce(renewals_by_as_of_date.renewals_lost, 0)) over (
            partition by spine.account_id
            order by spine.as_of_date
            rows between unbounded preceding and current row
        ) as renewals_lost
    from spine
    left join renewals_by_as_of_date
        on
            spine.account_id = renewals_by_as_of_date.account_id
            and spine.as_of_date = renewals_by_as_of_date.as_of_date

),

final as (

    select
        account_id,
        as_of_date,
        cast(
            {{ pct('renewals_won', 'renewals_won + renewals_lost') }}
            as double precision
        ) as renewal_win_rate
    from renewals_running

)

select * from final

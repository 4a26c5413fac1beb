{{ config(**health_as_of_incremental()) }}
{%- set recompute_from = health_recompute_from() %}

{#-
    onboarding_completion of every account as of every as-of date D, exactly the
    rows of int_account_as_of_dates (docs: _onboarding__docs.md): 100 x distinct
    catalogue steps completed on or before D / steps in the catalogue; 0 before
    the first step.

    int_onboarding_steps_completed numbers an account's first completions in
    order (steps_completed) and gives the day of the next one: the running count
    on D is the one of the completion with completed_date <= D < next_completed_date.
    Steps completed the same day share a day, and only the last of them has a
    next day after it, so exactly one completion matches each D.
-#}

with spine as (

    select * from {{ ref('int_account_as_of_dates') }}
    {{ health_dates_from(recompute_from) }}

),

as_of_dates as (

    select * from {{ ref('int_as_of_dates') }}
    {{ health_dates_from(recompute_from) }}

),

completions as (

    select * from {{ ref('int_onboarding_steps_completed') }}

),

catalogue as (

    select * from {{ ref('onboarding_steps') }}

),

catalogue_size as (

    select count(*) as catalogue_steps
    from catalogue

),

steps_completed_by_date as (

    select
        completions.account_id,
        as_of_dates.as_of_date,
        completions.steps_completed
    from completions
    inner join as_of_dates
        on
            completions.completed_date <= as_of_dates.as_of_date
            and coalesce(completions.next_completed_date, cast('9999-12-31' as date)) > as_of_dates.as_of_date

),

final as (

    select
        spine.account_id,
        spine.as_of_date,
        cast(
            coalesce({{ pct('steps_completed_by_date.steps_completed', 'catalogue_size.catalogue_steps') }}, 0)
            as double precision
        ) as onboarding_completion
    from spine
    cross join catalogue_size
    left join steps_completed_by_date
        on
            spine.account_id = steps_completed_by_date.account_id
            and spine.as_of_date = steps_completed_by_date.as_of_date

)

select * from final

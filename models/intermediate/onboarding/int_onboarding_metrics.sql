{#-
    onboarding_completion of every account as of every as-of date (docs:
    _onboarding__docs.md): 100 x catalogue steps completed on or before D /
    steps in the catalogue; 0 before the first step.
-#}

with spine as (

    select * from {{ ref('int_account_as_of_dates') }}

),

completions as (

    select * from {{ ref('int_onboarding_steps_completed') }}

),

catalogue as (

    select count(*) as catalogue_steps from {{ ref('onboarding_steps') }}

),

-- The completion that was the latest on D: steps completed on the same day are
-- counted together (the last of them has next_completed_date after D).
completed_by_date as (

    select
        spine.account_id,
        spine.as_of_date,
        max(completions.steps_completed) as steps_completed
    from spine
    inner join completions
        on
            spine.account_id = completions.account_id
            and completions.completed_date <= spine.as_of_date
            and (completions.next_completed_date is null or completions.next_completed_date > spine.as_of_date)
    group by
        spine.account_id,
        spine.as_of_date

),

final as (

    select
        spine.account_id,
        spine.as_of_date,
        cast(
            coalesce({{ pct('completed_by_date.steps_completed', 'catalogue.catalogue_steps') }}, 0)
            as double precision
        ) as onboarding_completion
    from spine
    cross join catalogue
    left join completed_by_date
        on spine.account_id = completed_by_date.account_id and spine.as_of_date = completed_by_date.as_of_date

)

select * from final

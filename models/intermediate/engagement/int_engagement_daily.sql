{#-
    Engagement points per account and UTC day (docs: _engagement__docs.md): CRM
    activities by activity_type, onboarding steps of the catalogue at their first
    completion, and in-product feedback by sentiment, each priced by
    seeds/action_points.csv (action_source activity / onboarding / feedback). An
    action is on the UTC date of its timestamp; an action the seed does not price
    scores nothing. Only days with at least one priced action have a row.
-#}

with activities as (

    select * from {{ ref('stg_crm__activities') }}

),

onboarding_steps as (

    select * from {{ ref('int_onboarding_steps_completed') }}

),

feedback as (

    select * from {{ ref('stg_product__feedback') }}

),

action_points as (

    select * from {{ ref('action_points') }}

),

actions as (

    select
        account_id,
        cast(occurred_at as date) as action_date,
        'activity' as action_source,
        activity_type as action_key
    from activities

    union all

    select
        account_id,
        completed_date as action_date,
        'onboarding' as action_source,
        'step_completed' as action_key
    from onboarding_steps

    union all

    select
        account_id,
        cast(submitted_at as date) as action_date,
        'feedback' as action_source,
        sentiment as action_key
    from feedback

),

final as (

    select
        actions.account_id,
        actions.action_date,
        sum(action_points.points) as engagement_points,
        count(*) as priced_actions
    from actions
    inner join action_points
        on
            actions.action_source = action_points.action_source
            and actions.action_key = action_points.action_key
    group by
        actions.account_id,
        actions.action_date

)

select * from final

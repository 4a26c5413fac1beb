{#-
    Engagement points per account and day: CRM activities by type, onboarding
    steps of the catalogue completed, and in-product feedback by sentiment, each
    priced by seeds/action_points.csv.
-#}

with activities as (

    select * from {{ ref('stg_crm__activities') }}

),

onboarding as (

    select * from {{ ref('int_onboarding_steps_completed') }}

),

feedback as (

    select * from {{ ref('stg_product__feedback') }}

),

points as (

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
    from onboarding

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
        sum(points.points) as engagement_points
    from actions
    inner join points
        on actions.action_source = points.action_source and actions.action_key = points.action_key
    group by
        actions.account_id,
        actions.action_date

)

select * from final

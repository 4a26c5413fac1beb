{#- Every setting the scoring reads exists, with a sensible value. -#}

with settings as (

    select * from {{ ref('health_settings') }}

),

required as (

    select
        'min_coverage' as setting_key,
        0 as lowest,
        100 as highest
    union all
    select
        'neutral_score' as setting_key,
        0 as lowest,
        100 as highest
    union all
    select
        'score_change_days' as setting_key,
        1 as lowest,
        3660 as highest
    union all
    select
        'churn_horizon_days' as setting_key,
        1 as lowest,
        3660 as highest

),

final as (

    select
        required.setting_key,
        settings.setting_value
    from required
    left join settings
        on required.setting_key = settings.setting_key
    where
        settings.setting_value is null
        or settings.setting_value < required.lowest
        or settings.setting_value > required.highest

)

select * from final

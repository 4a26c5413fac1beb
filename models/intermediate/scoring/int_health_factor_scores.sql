{#-
    THE scoring of every factor, one piece of SQL for all of them (doc('health_score')):
    one row per account, as-of date and weighted factor, with the factor score, the
    weight, the effective weight after re-weighting over the factors present, the
    contribution to the score and the pull against the neutral score.
    The weights and the weight present come with the values (int_health_factor_values);
    factors without a weight in the account's set (or of weight 0) are not scored.
-#}

with factor_values as (

    select * from {{ ref('int_health_factor_values') }}

),

factors as (

    select * from {{ ref('health_factors') }}

),

settings as (

    select * from {{ ref('health_settings') }}

),

scoring_settings as (

    select max(case when setting_key = 'neutral_score' then setting_value end) as neutral_score
    from settings

),

scaled as (

    select
        factor_values.account_id,
        factor_values.as_of_date,
        factor_values.factor_key,
        factors.factor_group,
        factor_values.weight_set,
        factor_values.weights_version,
        factor_values.metric_value,
        factors.floor as factor_floor,
        factors.target as factor_target,
        factor_values.weight,
        factor_values.weight_present,
        factor_values.metric_value is null as is_missing,
        100.0 * (factor_values.metric_value - factors.floor) / (factors.target - factors.floor) as unclamped_score
    from factor_values
    inner join factors
        on factor_values.factor_key = factors.factor_key
    where factor_values.weight > 0

),

clamped as (

    select
        account_id,
        as_of_date,
        factor_key,
        factor_group,
        weight_set,
        weights_version,
        metric_value,
        factor_floor,
        factor_target,
        weight,
        weight_present,
        is_missing,
        case
            when unclamped_score is null then null
            when unclamped_score <= 0 then 0.0
            when unclamped_score >= 100 then 100.0
            else unclamped_score
        end as factor_score
    from scaled

),

final as (

    select
        clamped.account_id,
        clamped.as_of_date,
        clamped.factor_key,
        clamped.factor_group,
        clamped.weight_set,
        clamped.weights_version,
        clamped.metric_value,
        clamped.factor_floor,
        clamped.factor_target,
        clamped.factor_score,
        clamped.is_missing,
        clamped.weight,
        case
            when clamped.is_missing then 0.0
            else clamped.weight / clamped.weight_present
        end as effective_weight,
        case
            when clamped.is_missing then 0.0
            else clamped.factor_score * clamped.weight / clamped.weight_present
        end as contribution,
        case
            when clamped.is_missing then 0.0
            else (clamped.factor_score - scoring_settings.neutral_score) * clamped.weight / clamped.weight_present
        end as pull
    from clamped
    cross join scoring_settings

)

select * from final

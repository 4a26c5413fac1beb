{{ config(**health_as_of_incremental(weights=true)) }}

{#-
    The health of every account on every as-of date: the score (the sum of the
    contributions of fct_health_factors), its coverage, grade, colour and change
    over 30 days, with the account's segments. Incremental like fct_health_factors
    (doc('health_incremental')): the same rule picks the dates to (re)score.
-#}

-- depends_on: {{ ref('int_as_of_dates') }}
-- depends_on: {{ ref('int_health_weight_sets') }}

{%- set rescore_from = health_recompute_from() %}

{%- set batch_filter = health_dates_from(rescore_from) %}

with health_factors as (

    select * from {{ ref('fct_health_factors') }}
    {{ batch_filter }}

),

segments as (

    select * from {{ ref('int_account_segments') }}
    {{ batch_filter }}

),

as_of_dates as (

    select * from {{ ref('int_as_of_dates') }}

),

bands as (

    select * from {{ ref('health_bands') }}

),

settings as (

    select * from {{ ref('health_settings') }}

),


history_settings as (

    select
        max(case when setting_key = 'min_coverage' then setting_value end) as min_coverage,
        max(case when setting_key = 'score_change_days' then setting_value end) as score_change_days
    from settings

),

ranked_bands as (

    select
        grade,
        colour,
        min_score,
        max_score,
        max_score = max(max_score) over () as is_top_band
    from bands

),

score_parts as (

    select
        account_id,
        as_of_date,
        weight_set,
        weights_version,
        count(*) as factors_scored,
        sum(case when is_missing then 0 else 1 end) as factors_present,
        sum(weight) as weight_total,
        sum(case when is_missing then 0 else weight end) as weight_present,
        -- summed as an exact decimal: the same score whatever order the rows are added in
        cast(
            sum(case when is_missing then 0 else cast(factor_score * weight as decimal(38, 12)) end)
            as double precision
        ) as weighted_score_total
    from health_factors
    group by
        account_id,
        as_of_date,
        weight_set,
        weights_version

),

scores as (

    select
        segments.account_id,
        segments.as_of_date,
        segments.lifecycle_stage,
        segments.value_tier,
        segments.is_customer,
        segments.mrr,
        score_parts.weight_set,
        score_parts.weights_version,
        coalesce(score_parts.factors_scored, 0) as factors_scored,
        coalesce(score_parts.factors_present, 0) as factors_present,
        score_parts.weighted_score_total / nullif(score_parts.weight_present, 0) as health_score,
        coalesce(100.0 * score_parts.weight_present / nullif(score_parts.weight_total, 0), 0) as score_coverage
    from segments
    left join score_parts
        on
            segments.account_id = score_parts.account_id
            and segments.as_of_date = score_parts.as_of_date

),

graded as (

    select
        scores.account_id,
        scores.as_of_date,
        scores.lifecycle_stage,
        scores.value_tier,
        scores.is_customer,
        scores.mrr,
        scores.weight_set,
        scores.weights_version,
        scores.factors_scored,
        scores.factors_present,
        scores.health_score,
        scores.score_coverage,
        scores.health_score is not null
        and scores.score_coverage >= history_settings.min_coverage as is_graded
    from scores
    cross join history_settings

),

banded as (

    select
        graded.account_id,
        graded.as_of_date,
        graded.lifecycle_stage,
        graded.value_tier,
        graded.is_customer,
        graded.mrr,
        graded.weight_set,
        graded.weights_version,
        graded.factors_scored,
        graded.factors_present,
        graded.health_score,
        graded.score_coverage,
        graded.is_graded,
        case when graded.is_graded then ranked_bands.grade end as grade,
        case when graded.is_graded then ranked_bands.colour else 'grey' end as colour
    from graded
    left join ranked_bands
        on
            graded.health_score >= ranked_bands.min_score
            and (
                graded.health_score < ranked_bands.max_score
                or (ranked_bands.is_top_band and graded.health_score <= ranked_bands.max_score)
            )

),

comparison_dates as (

    -- the latest as-of date at least score_change_days before each as-of date
    select
        later_dates.as_of_date,
        max(earlier_dates.as_of_date) as base_date
    from as_of_dates as later_dates
    cross join history_settings
    inner join as_of_dates as earlier_dates
        on
            {{ dbt.datediff('earlier_dates.as_of_date', 'later_dates.as_of_date', 'day') }}
            >= history_settings.score_change_days
    group by later_dates.as_of_date

),

base_scores as (

    select
        account_id,
        as_of_date,
        health_score
    from scores
    {% if is_incremental() %}
        union all
        -- the scores already stored, for the dates before the ones (re)scored now
        select
            account_id,
            as_of_date,
            health_score
        from {{ this }}
        {% if rescore_from is not none %}
            where as_of_date < cast('{{ rescore_from }}' as date)
        {% endif %}
    {% endif %}

),

final as (

    select
        cast(banded.account_id as varchar) as account_id,
        banded.as_of_date,
        cast(banded.lifecycle_stage as varchar) as lifecycle_stage,
        cast(banded.value_tier as varchar) as value_tier,
        banded.is_customer,
        cast(banded.mrr as double precision) as mrr,
        cast(banded.weight_set as varchar) as weight_set,
        cast(banded.weights_version as integer) as weights_version,
        cast(banded.factors_scored as integer) as factors_scored,
        cast(banded.factors_present as integer) as factors_present,
        cast(banded.health_score as double precision) as health_score,
        cast(banded.score_coverage as double precision) as score_coverage,
        banded.is_graded,
        cast(banded.grade as varchar) as grade,
        cast(banded.colour as varchar) as colour,
        cast(banded.health_score - base_scores.health_score as double precision) as score_change_30d,
        comparison_dates.base_date as score_change_base_date
    from banded
    left join comparison_dates
        on banded.as_of_date = comparison_dates.as_of_date
    left join base_scores
        on
            banded.account_id = base_scores.account_id
            and comparison_dates.base_date = base_scores.as_of_date

)

select * from final

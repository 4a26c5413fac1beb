{{ config(**health_as_of_incremental(upstream='fct_health_history')) }}
{%- set recompute_from = health_recompute_from() %}

{#-
    One row per alert: a customer crossing into a condition of seeds/alert_rules.csv
    on an as-of date. An alert fires when its condition becomes true against the
    account's previous as-of date, not on every date while it stays true
    (doc('health_alert_rules')). Removing a rule's line switches it off.
    Incremental (doc('health_incremental')): a run recomputes the dates
    fct_health_history rescored, reading one as-of date before them for the
    previous state (every account has a row on every as-of date from its creation).
-#}

-- depends_on: {{ ref('int_as_of_dates') }}

{%- set previous_date_on -%}
    {%- if recompute_from is not none -%}
        where as_of_date >= (
            select coalesce(max(as_of_date), cast('{{ recompute_from }}' as date))
            from {{ ref('int_as_of_dates') }}
            where as_of_date < cast('{{ recompute_from }}' as date)
        )
    {%- endif -%}
{%- endset %}

{#- How a figure is written into `detail`: one decimal, or as text; n/a when null. -#}
{%- set one_decimal = "coalesce(cast(cast(__value__ as decimal(18, 1)) as " ~ dbt.type_string() ~ "), 'n/a')" -%}
{%- set as_text = "coalesce(cast(__value__ as " ~ dbt.type_string() ~ "), 'n/a')" %}

with history as (

    select * from {{ ref('fct_health_history') }}
    {{ previous_date_on }}

),

metrics as (

    select * from {{ ref('int_account_metrics') }}
    {{ previous_date_on }}

),

bands as (

    select * from {{ ref('health_bands') }}

),

rules as (

    select * from {{ ref('alert_rules') }}

),

grade_ranks as (

    -- 1 is the best grade
    select
        grade,
        row_number() over (order by min_score desc) as grade_rank
    from bands

),

states as (

    select
        history.account_id,
        history.as_of_date,
        history.is_customer,
        history.is_graded,
        history.health_score,
        history.grade,
        grade_ranks.grade_rank,
        history.colour,
        history.score_change_30d,
        history.score_change_base_date,
        metrics.days_past_due,
        metrics.usage_trend,
        metrics.last_nps_score,
        metrics.last_nps_responded_at
    from history
    left join grade_ranks
        on history.grade = grade_ranks.grade
    left join metrics
        on
            history.account_id = metrics.account_id
            and history.as_of_date = metrics.as_of_date

),

with_previous as (

    select
        account_id,
        as_of_date,
        is_customer,
        is_graded,
        health_score,
        grade,
        grade_rank,
        colour,
        score_change_30d,
        score_change_base_date,
        days_past_due,
        usage_trend,
        last_nps_score,
        last_nps_responded_at,
        lag(as_of_date) over account_dates as previous_date,
        lag(health_score) over account_dates as previous_score,
        lag(grade) over account_dates as previous_grade,
        lag(grade_rank) over account_dates as previous_grade_rank,
        lag(colour) over account_dates as previous_colour,
        lag(score_change_30d) over account_dates as previous_score_change_30d,
        lag(days_past_due) over account_dates as previous_days_past_due,
        lag(usage_trend) over account_dates as previous_usage_trend
    from states
    window account_dates as (partition by account_id order by as_of_date)

),

turns_red as (

    select
        with_previous.account_id,
        with_previous.as_of_date,
        rules.rule as alert_type,
        with_previous.health_score as metric_value,
        with_previous.previous_score as previous_value,
        'colour red: score ' || {{ one_decimal | replace('__value__', 'with_previous.health_score') }}
        || ' (grade ' || {{ as_text | replace('__value__', 'with_previous.grade') }} || '); on '
        || {{ as_text | replace('__value__', 'with_previous.previous_date') }} || ' '
        || {{ as_text | replace('__value__', 'with_previous.previous_colour') }}
        || ' (score ' || {{ one_decimal | replace('__value__', 'with_previous.previous_score') }} || ')' as detail
    from with_previous
    inner join rules
        on rules.rule = 'turns_red'
    where
        with_previous.is_customer
        and with_previous.colour = 'red'
        and with_previous.previous_colour in ('green', 'yellow')

),

grade_drops as (

    select
        with_previous.account_id,
        with_previous.as_of_date,
        rules.rule as alert_type,
        with_previous.health_score as metric_value,
        with_previous.previous_score as previous_value,
        'grade ' || with_previous.previous_grade || ' to ' || with_previous.grade
        || ': score ' || {{ one_decimal | replace('__value__', 'with_previous.health_score') }}
        || ', was ' || {{ one_decimal | replace('__value__', 'with_previous.previous_score') }}
        || ' on ' || {{ as_text | replace('__value__', 'with_previous.previous_date') }} as detail
    from with_previous
    inner join rules
        on rules.rule = 'grade_drop'
    where
        with_previous.is_customer
        and with_previous.grade_rank - with_previous.previous_grade_rank >= rules.threshold

),

score_drops as (

    select
        with_previous.account_id,
        with_previous.as_of_date,
        rules.rule as alert_type,
        with_previous.score_change_30d as metric_value,
        with_previous.previous_score_change_30d as previous_value,
        'score ' || {{ one_decimal | replace('__value__', 'with_previous.health_score') }}
        || ', ' || {{ one_decimal | replace('__value__', '-1 * with_previous.score_change_30d') }} || ' points below '
        || {{ one_decimal | replace('__value__', 'with_previous.health_score - with_previous.score_change_30d') }}
        || ' on ' || {{ as_text | replace('__value__', 'with_previous.score_change_base_date') }}
        || ' (threshold ' || {{ one_decimal | replace('__value__', 'rules.threshold') }} || ')' as detail
    from with_previous
    inner join rules
        on rules.rule = 'score_drop_30d'
    where
        with_previous.is_customer
        and with_previous.is_graded
        and with_previous.score_change_30d <= -1 * rules.threshold
        and not coalesce(with_previous.previous_score_change_30d <= -1 * rules.threshold, false)

),

detractor_answers as (

    select
        with_previous.account_id,
        with_previous.as_of_date,
        rules.rule as alert_type,
        cast(with_previous.last_nps_score as double precision) as metric_value,
        cast(null as double precision) as previous_value,
        'NPS answer ' || {{ as_text | replace('__value__', 'cast(with_previous.last_nps_score as integer)') }} || ' on '
        || {{ as_text | replace('__value__', 'cast(with_previous.last_nps_responded_at as date)') }}
        || ' (detractor: ' || {{ as_text | replace('__value__', 'cast(rules.threshold as integer)') }}
        || ' or lower)' as detail
    from with_previous
    inner join rules
        on rules.rule = 'detractor_nps'
    where
        with_previous.is_customer
        and with_previous.last_nps_score <= rules.threshold
        and (
            with_previous.previous_date is null
            or cast(with_previous.last_nps_responded_at as date) > with_previous.previous_date
        )

),

past_due as (

    select
        with_previous.account_id,
        with_previous.as_of_date,
        rules.rule as alert_type,
        cast(with_previous.days_past_due as double precision) as metric_value,
        cast(with_previous.previous_days_past_due as double precision) as previous_value,
        {{ as_text | replace('__value__', 'cast(with_previous.days_past_due as integer)') }}
        || ' days past due (threshold '
        || {{ as_text | replace('__value__', 'cast(rules.threshold as integer)') }} || '); was '
        || {{ as_text | replace('__value__', 'cast(with_previous.previous_days_past_due as integer)') }}
        || ' on ' || {{ as_text | replace('__value__', 'with_previous.previous_date') }} as detail
    from with_previous
    inner join rules
        on rules.rule = 'past_due'
    where
        with_previous.is_customer
        and with_previous.days_past_due >= rules.threshold
        and not coalesce(with_previous.previous_days_past_due >= rules.threshold, false)

),

usage_halved as (

    select
        with_previous.account_id,
        with_previous.as_of_date,
        rules.rule as alert_type,
        cast(with_previous.usage_trend as double precision) as metric_value,
        cast(with_previous.previous_usage_trend as double precision) as previous_value,
        'usage_trend ' || {{ one_decimal | replace('__value__', 'with_previous.usage_trend') }} || '% (threshold '
        || {{ one_decimal | replace('__value__', 'rules.threshold') }} || '%); was '
        || {{ one_decimal | replace('__value__', 'with_previous.previous_usage_trend') }}
        || '% on ' || {{ as_text | replace('__value__', 'with_previous.previous_date') }} as detail
    from with_previous
    inner join rules
        on rules.rule = 'usage_halved'
    where
        with_previous.is_customer
        and with_previous.usage_trend <= rules.threshold
        and not coalesce(with_previous.previous_usage_trend <= rules.threshold, false)

),

alerts as (

    select * from turns_red
    union all
    select * from grade_drops
    union all
    select * from score_drops
    union all
    select * from detractor_answers
    union all
    select * from past_due
    union all
    select * from usage_halved

),

final as (

    select
        alerts.account_id || '|' || cast(alerts.as_of_date as {{ dbt.type_string() }})
        || '|' || alerts.alert_type as alert_id,
        alerts.account_id,
        alerts.as_of_date,
        alerts.alert_type,
        rules.severity,
        cast(rules.threshold as double precision) as threshold,
        cast(alerts.metric_value as double precision) as metric_value,
        cast(alerts.previous_value as double precision) as previous_value,
        alerts.detail
    from alerts
    inner join rules
        on alerts.alert_type = rules.rule
    {%- if recompute_from is not none %}
        where alerts.as_of_date >= cast('{{ recompute_from }}' as date)
    {%- endif %}

)

select * from final

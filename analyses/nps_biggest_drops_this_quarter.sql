{#-
    The accounts whose NPS fell most this quarter: NPS (trailing 180 days) as of
    the latest as-of date against NPS as of the last as-of date before the
    quarter began (the calendar quarter of the latest date). Only accounts with
    an NPS at both dates; the answers of the quarter and the latest answer show
    whether the drop comes from new detractors or from old promoters leaving
    the 180-day window.
-#}

with survey_metrics as (

    select * from {{ ref('int_survey_metrics') }}

),

as_of_dates as (

    select * from {{ ref('int_as_of_dates') }}

),

nps_responses as (

    select * from {{ ref('stg_surveys__nps_responses') }}

),

accounts as (

    select * from {{ ref('stg_crm__accounts') }}

),

latest as (

    select
        as_of_date as latest_date,
        cast({{ dbt.date_trunc('quarter', 'as_of_date') }} as date) as quarter_start
    from as_of_dates
    where is_latest

),

quarter_bounds as (

    select
        latest.latest_date,
        latest.quarter_start,
        max(as_of_dates.as_of_date) as baseline_date
    from latest
    inner join as_of_dates
        on latest.quarter_start > as_of_dates.as_of_date
    group by
        latest.latest_date,
        latest.quarter_start

),

quarter_answers as (

    select
        nps_responses.account_id,
        count(*) as answers_this_quarter,
        count(case when nps_responses.score <= 6 then 1 end) as detractor_answers_this_quarter
    from nps_responses
    inner join quarter_bounds
        on
            cast(nps_responses.responded_at as date) >= quarter_bounds.quarter_start
            and cast(nps_responses.responded_at as date) <= quarter_bounds.latest_date
    group by nps_responses.account_id

),

compared as (

    select
        now_metrics.account_id,
        quarter_bounds.baseline_date,
        quarter_bounds.latest_date,
        baseline_metrics.nps as nps_at_quarter_start,
        now_metrics.nps as nps_now,
        now_metrics.nps - baseline_metrics.nps as nps_change,
        now_metrics.last_nps_score,
        now_metrics.last_nps_responded_at
    from quarter_bounds
    inner join survey_metrics as now_metrics
        on quarter_bounds.latest_date = now_metrics.as_of_date
    inner join survey_metrics as baseline_metrics
        on
            now_metrics.account_id = baseline_metrics.account_id
            and quarter_bounds.baseline_date = baseline_metrics.as_of_date
    where
        now_metrics.nps is not null
        and baseline_metrics.nps is not null

),

final as (

    select
        compared.account_id,
        accounts.account_name,
        accounts.csm_owner,
        compared.baseline_date,
        compared.latest_date,
        compared.nps_at_quarter_start,
        compared.nps_now,
        compared.nps_change,
        coalesce(quarter_answers.answers_this_quarter, 0) as answers_this_quarter,
        coalesce(quarter_answers.detractor_answers_this_quarter, 0) as detractor_answers_this_quarter,
        compared.last_nps_score,
        compared.last_nps_responded_at
    from compared
    left join accounts
        on compared.account_id = accounts.account_id
    left join quarter_answers
        on compared.account_id = quarter_answers.account_id
    where compared.nps_change < 0

)

select * from final
order by nps_change asc, account_id asc
limit 25

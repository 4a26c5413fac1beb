{#-
    Does the score predict churn? One row per backtest date and grade (A-D and
    `ungraded`, coverage too low): the customers of that grade, how many of them
    churned within the horizon and the churn rate; and, on every row of a date, the
    AUC of the score on that date with the customers and churners it rests on
    (doc('health_backtest')).
-#}

with population as (

    select * from {{ ref('int_health_backtest_population') }}

),

auc as (

    select * from {{ ref('int_health_backtest_auc') }}

),

bands as (

    select * from {{ ref('health_bands') }}

),

settings as (

    select * from {{ ref('health_settings') }}

),

backtest_settings as (

    select max(case when setting_key = 'churn_horizon_days' then setting_value end) as churn_horizon_days
    from settings

),

backtest_dates as (

    select distinct as_of_date
    from population

),

grades as (

    select
        grade,
        colour,
        min_score
    from bands
    union all
    select
        'ungraded' as grade,
        'grey' as colour,
        -1 as min_score

),

grade_counts as (

    select
        as_of_date,
        coalesce(grade, 'ungraded') as grade,
        count(*) as customers,
        sum(case when is_churner then 1 else 0 end) as churners
    from population
    group by
        as_of_date,
        coalesce(grade, 'ungraded')

),

score_auc as (

    select
        as_of_date,
        auc,
        customers,
        churners
    from auc
    where predictor = 'health_score'

),

final as (

    select
        backtest_dates.as_of_date,
        grades.grade,
        grades.colour,
        cast(backtest_settings.churn_horizon_days as integer) as horizon_days,
        cast(coalesce(grade_counts.customers, 0) as integer) as customers,
        cast(coalesce(grade_counts.churners, 0) as integer) as churners,
        cast(
            100.0 * grade_counts.churners / nullif(grade_counts.customers, 0) as double precision
        ) as churn_rate_pct,
        cast(score_auc.auc as double precision) as score_auc,
        cast(coalesce(score_auc.customers, 0) as integer) as auc_customers,
        cast(coalesce(score_auc.churners, 0) as integer) as auc_churners
    from backtest_dates
    cross join grades
    cross join backtest_settings
    left join grade_counts
        on
            backtest_dates.as_of_date = grade_counts.as_of_date
            and grades.grade = grade_counts.grade
    left join score_auc
        on backtest_dates.as_of_date = score_auc.as_of_date

)

select * from final

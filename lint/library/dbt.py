"""Stand-ins for dbt's cross-database macros (dbt.dateadd, ...) for linting only."""


def dateadd(datepart, interval, from_date_or_timestamp):
    return f"date_add({from_date_or_timestamp}, interval ({interval}) {datepart})"


def datediff(first_date, second_date, datepart):
    return f"date_diff('{datepart}', {first_date}, {second_date})"


def date_trunc(datepart, date):
    return f"date_trunc('{datepart}', {date})"


def last_day(date, datepart):
    return f"last_day({date})"


def safe_cast(field, type):
    return f"try_cast({field} as {type})"


def generate_series(upper_bound):
    return f"select generate_series as generated_number from generate_series(1, {upper_bound})"


def date_spine(datepart, start_date, end_date):
    return f"select range as date_{datepart} from range({start_date}, {end_date}, interval 1 {datepart})"


def concat(fields):
    return " || ".join(fields)


def hash(field):
    return f"md5({field})"


def type_string():
    return "varchar"


def type_timestamp():
    return "timestamp"


def type_float():
    return "double"


def type_numeric():
    return "numeric(28, 6)"


def type_int():
    return "integer"


def type_bigint():
    return "bigint"


def type_boolean():
    return "boolean"


def current_timestamp():
    return "current_timestamp"


def split_part(string_text, delimiter_text, part_number):
    return f"split_part({string_text}, {delimiter_text}, {part_number})"


def listagg(measure, delimiter_text="','", order_by_clause=None, limit_num=None):
    return f"string_agg({measure}, {delimiter_text})"


def cast_bool_to_text(field):
    return f"cast({field} as varchar)"


def any_value(expression):
    return f"any_value({expression})"


def bool_or(expression):
    return f"bool_or({expression})"


def escape_single_quotes(expression):
    return expression.replace("'", "''")


def string_literal(value):
    return f"'{value}'"

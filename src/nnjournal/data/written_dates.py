"""Dates as spreadsheets write them: `15/07/2022`, `07/15/2022`, `15.07.2022`, `2022/07/15`,
`15-Jan-22`, and months alone: `07/2022`, `Jan-49`, `January 2022`.

A CSV column whose every value is a date written one such way is rewritten as ISO dates
(`2022-07-15`, a time kept as `2022-07-15 10:30`, a month alone as `2022-07`), so that the
tabular encoding reads days, months and weekdays from it and a series can check its order and
spacing. Which number is the day is read from the column itself: a first number above 12 says
day first (15/07), a second above 12 says month first (07/15); points (15.07.2022) are day
first, as where they are written. A column where neither ever exceeds 12 (03/04/2022: March or
April?) is left as it is and named in `Table.ambiguous_dates`, so the report can ask for ISO
dates instead of guessing. Dates with English month names (`15-Jan-2022`, `15 JAN 2022`,
`Jan 5, 2022`, `5 January 2022`, `Jan-2022`) are never ambiguous and are read the same way.
Two-digit years (`15/07/22`, `15-Jan-22`, Excel's monthly `Jan-49`) are read as 1930-2029, the
window spreadsheets use. Forms that numbers or prose also take are left alone: a month and
year with a point (`1.2020` is a number), or a month name and two digits after a space
(`Mar 10` is a day)."""

from __future__ import annotations

import datetime as dt
import re

from nnjournal.data.tabular_encoding import is_missing, parse_dates

_TIME = r"(?:[T ](?P<time>\d{1,2}:\d{2}(?::\d{2})?)(?: ?(?P<ampm>[AaPp]\.?[Mm]\.?))?)?"  # 10:05, 9:05:30 PM
_YEAR = r"(?P<year>\d{4}|\d{2})"  # two digits: see _full_year
_MONTH_YEAR = r"(?P<year>(?:1[89]|2\d)\d\d)"  # a month and a four-digit year alone: 1800-2999
_DMY = re.compile(rf"(?P<a>\d{{1,2}})(?P<sep>[/.-])(?P<b>\d{{1,2}})(?P=sep){_YEAR}{_TIME}")
_YMD = re.compile(rf"(?P<year>\d{{4}})/(?P<a>\d{{1,2}})/(?P<b>\d{{1,2}}){_TIME}")
_MY = re.compile(rf"(?P<month>\d{{1,2}})(?P<sep>[/-]){_MONTH_YEAR}")
_YM = re.compile(rf"{_MONTH_YEAR}/(?P<month>\d{{1,2}})")
_DAY_MONTH_NAME = re.compile(rf"(?P<day>\d{{1,2}})(?P<sep>[- ])(?P<month>[A-Za-z]{{3,9}})\.?(?P=sep){_YEAR}{_TIME}")
_MONTH_NAME_DAY = re.compile(
    rf"(?P<month>[A-Za-z]{{3,9}})\.? (?P<day>\d{{1,2}})(?P<comma>,?) (?P<year>\d{{4}}){_TIME}"
)
_MONTH_NAME_YEAR = re.compile(rf"(?P<month>[A-Za-z]{{3,9}})\.?(?P<sep>[- ]){_YEAR}")  # not `Mar 10`: _rewrite_month
# ISO date-times with a time zone (APIs, databases): 2022-07-15T10:30:00Z, 2022-07-15 10:30+02:00
_ZONED = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[T ](?P<clock>\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) ?(?P<zone>Z|UTC|[+-]\d{2}(?::?\d{2})?)"
)
ZONED = "YYYY-MM-DDThh:mm+zone, read as UTC"
# a cheap first test: no column without it is a date
_MARKED = re.compile(r"\d[/.]\d|\d-\d{1,2}-\d{2}|\d-\d{4}|\d[- ][A-Za-z]{3}|[A-Za-z]{3}\.?[- ]\d")
_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
           "october", "november", "december")  # fmt: skip
_TOKENS = re.compile(r"YYYY|YY|MONTH|Month|MON|Mon|MM|DD|D")  # how a column writes its dates
_CENTURY_PIVOT = 30  # two-digit years 30-99 are 1930-1999, 00-29 are 2000-2029 (as Excel reads them)


def read_written_dates(columns: dict[str, list[str]]) -> tuple[dict[str, str], list[str]]:
    """Rewrite in place the columns of dates written day/month/year, month/day/year,
    year/month/day or month/year as ISO dates. Returns ({column: how it was written, e.g.
    "DD/MM/YYYY"}, [columns of dates whose day and month cannot be told apart])."""
    found, ambiguous = {}, []
    for name, values in columns.items():
        if not _MARKED.search("\n".join(values)):
            continue
        present = [v for v in values if not is_missing(v)]
        read = (
            _rewrite(values, present)
            or _rewrite_named(values, present)
            or _rewrite_month(values, present)
            or _rewrite_zoned(values, present)
        )
        if read == "ambiguous":
            ambiguous.append(name)
        elif read is not None:
            columns[name], found[name] = read
    return found, ambiguous


def as_written(iso: str, how: str) -> str:
    """An ISO date (as `read_written_dates` made it) back in the column's own form, `how`."""
    if how == ZONED:
        return iso.replace(" ", "T") + ("" if " " in iso else "T00:00") + "Z"
    date, _, time = iso.partition(" ")
    if how.endswith(" AM/PM"):
        how = how.removesuffix(" AM/PM")
        if time:
            hour, _, rest = time.partition(":")
            time = f"{(int(hour) - 1) % 12 + 1}:{rest} {'AM' if int(hour) < 12 else 'PM'}"
    year, month, *day = date.split("-")
    day = day[0] if day else "01"
    name = _MONTHS[int(month) - 1]
    parts = {"YYYY": year, "YY": year[2:], "MM": month, "DD": day, "D": str(int(day)), "Month": name.title(),
             "MONTH": name.upper(), "Mon": name[:3].title(), "MON": name[:3].upper()}  # fmt: skip
    return _TOKENS.sub(lambda m: parts[m[0]], how) + (f" {time}" if time else "")


def two_digit_years(how: str) -> bool:
    """Whether a column written `how` gives its years in two digits (read as 1930-2029)."""
    return "YY" in how and "YYYY" not in how


def _rewrite(values: list[str], present: list[str]) -> tuple[list[str], str] | str | None:
    pattern, matches = _one_form(present, (_DMY, _YMD))
    if pattern is None:
        return None
    seps = {m["sep"] for m in matches} if pattern is _DMY else {"/"}
    year = _year_token(matches)
    if len(seps) > 1 or year is None:
        return None
    sep = seps.pop()
    a_big = any(int(m["a"]) > 12 for m in matches)
    b_big = any(int(m["b"]) > 12 for m in matches)
    if pattern is _YMD:
        day_first, how = False, "YYYY/MM/DD"
    elif sep == "." or (a_big and not b_big):
        day_first, how = True, f"DD{sep}MM{sep}{year}"
    elif b_big and not a_big:
        day_first, how = False, f"MM{sep}DD{sep}{year}"
    elif not a_big and not b_big:
        return "ambiguous"
    else:
        return None  # both above 12 somewhere: not dates
    day_month = [(int(m["a"]), int(m["b"])) if day_first else (int(m["b"]), int(m["a"])) for m in matches]
    column = _as_iso(values, present, matches, day_month)
    return None if column is None else (column, how + _clock(matches))


def _rewrite_named(values: list[str], present: list[str]) -> tuple[list[str], str] | None:
    """Dates with month names: day first (15-Jan-2022, 15 January 2022) or month first
    (Jan 5, 2022), every value of the column one way; `None` when they are not dates."""
    pattern, matches = _one_form(present, (_DAY_MONTH_NAME, _MONTH_NAME_DAY))
    year = _year_token(matches)
    if pattern is None or year is None:
        return None
    months = [_month_number(m["month"]) for m in matches]
    if None in months:
        return None
    first, style = matches[0], _month_style(matches)
    day = "DD" if any(m["day"].startswith("0") for m in matches) else "D"
    if pattern is _DAY_MONTH_NAME:
        sep = first["sep"]
        if any(m["sep"] != sep for m in matches):
            return None
        how = f"{day}{sep}{style}{sep}{year}"
    else:
        how = f"{style} {day}{first['comma']} YYYY"
    day_month = [(int(m["day"]), month) for m, month in zip(matches, months, strict=True)]
    column = _as_iso(values, present, matches, day_month)
    return None if column is None else (column, how + _clock(matches))


def _rewrite_month(values: list[str], present: list[str]) -> tuple[list[str], str] | None:
    """Months alone: 07/2022, 7-2022, 2022/07, Jan-2022, Jan-49, January 2022; every value of
    the column one way (one separator, one length of year); `None` when they are not months."""
    pattern, matches = _one_form(present, (_MY, _YM, _MONTH_NAME_YEAR))
    if pattern is None:
        return None
    if pattern is _MONTH_NAME_YEAR:
        months = [_month_number(m["month"]) for m in matches]
        seps, year = {m["sep"] for m in matches}, _year_token(matches)
        if None in months or len(seps) > 1 or year is None or (year == "YY" and seps == {" "}):
            return None  # `Mar 10` is a day whose year is not given, not March 2010
        how = f"{_month_style(matches)}{seps.pop()}{year}"
    else:
        months = [int(m["month"]) for m in matches]
        seps = {m["sep"] for m in matches} if pattern is _MY else {"/"}
        if len(seps) > 1:
            return None
        how = f"MM{seps.pop()}YYYY" if pattern is _MY else "YYYY/MM"
    column = _as_iso(values, present, matches, [(None, month) for month in months])
    return None if column is None else (column, how)


def _rewrite_zoned(values: list[str], present: list[str]) -> tuple[list[str], str] | None:
    """ISO date-times with a time zone, as the UTC date-times they are; `None` otherwise."""
    pattern, matches = _one_form(present, (_ZONED,))
    if pattern is None:
        return None
    iso = {}
    for v, m in zip(present, matches, strict=True):
        zone = m["zone"]
        zone = "+00:00" if zone in ("Z", "UTC") else f"{zone[:3]}:{zone[-2:] if len(zone) > 3 else '00'}"
        try:
            stamp = dt.datetime.fromisoformat(f"{m['date']}T{m['clock']}{zone}")
        except ValueError:  # 2022-02-31, 25:00, +25:00
            return None
        utc = stamp.astimezone(dt.timezone.utc).replace(tzinfo=None)
        iso[v] = utc.isoformat(sep=" ", timespec="seconds" if m["clock"].count(":") == 2 else "minutes")
    return [v if is_missing(v) else iso[v] for v in values], ZONED


def _clock(matches: list) -> str:
    """" AM/PM" for a column whose times are written on the 12-hour clock (9:05 PM)."""
    return " AM/PM" if any(m["ampm"] for m in matches) else ""


def _as_iso(
    values: list[str], present: list[str], matches: list, day_month: list[tuple[int | None, int]]
) -> list[str] | None:
    """The column with each date (its match's year and time, and its day and month) written
    as ISO (a month alone, day `None`, as YYYY-MM), blanks kept; `None` when one is no date
    (31/02/2022, month 13)."""
    iso = {}
    for v, m, (day, month) in zip(present, matches, day_month, strict=True):
        time, ampm = m.groupdict().get("time"), (m.groupdict().get("ampm") or "").upper()
        hour, _, rest = (time or "").partition(":")
        if ampm:  # 12:05 AM is 00:05, 12:05 PM is 12:05
            if not 1 <= int(hour) <= 12:
                return None
            hour = str(int(hour) % 12 + (12 if ampm.startswith("P") else 0))
        time = f" {int(hour):02d}:{rest}" if time else ""
        date = f"{_full_year(m)}-{month:02d}" + ("" if day is None else f"-{day:02d}")
        iso[v] = date + time
    if parse_dates(list(iso.values())) is None:
        return None
    return [v if is_missing(v) else iso[v] for v in values]


def _year_token(matches: list) -> str | None:
    """"YYYY" or "YY": how every match of a column writes its year; `None` when they differ."""
    lengths = {len(m["year"]) for m in matches}
    return None if len(lengths) > 1 else "YYYY" if lengths == {4} else "YY"


def _full_year(match: re.Match) -> str:
    year = match["year"]
    if len(year) == 4:
        return year
    return f"{20 if int(year) < _CENTURY_PIVOT else 19}{year}"


def _month_style(matches: list) -> str:
    """How a column names its months: Jan or January, JAN or JANUARY (from its first value)."""
    full = any(len(m["month"]) > 3 and m["month"].lower() != "sept" for m in matches)  # (May is both)
    style = "Month" if full else "Mon"
    return style.upper() if matches[0]["month"].isupper() else style


def _one_form(present: list[str], patterns: tuple[re.Pattern, ...]) -> tuple[re.Pattern | None, list]:
    """The pattern every value matches, tried in order (a column of numbers stops at its
    first value), and the matches; `(None, [])` when there is none."""
    for pattern in patterns:
        if present and pattern.fullmatch(present[0]):
            matches = [pattern.fullmatch(v) for v in present]
            if all(matches):
                return pattern, matches
    return None, []


def _month_number(name: str) -> int | None:
    """1-12 for an English month's name or its abbreviation (Jan, Sept), else `None`."""
    name = name.lower()
    for number, month in enumerate(_MONTHS, start=1):
        if name in (month, month[:3]) or (name == "sept" and number == 9):
            return number
    return None

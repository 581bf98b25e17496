"""Dates as spreadsheets write them: `15/07/2022`, `07/15/2022`, `15.07.2022`, `2022/07/15`.

A CSV column whose every value is a date written one such way is rewritten as ISO dates
(`2022-07-15`, a time kept as `2022-07-15 10:30`), so that the tabular encoding reads days,
months and weekdays from it and a series can check its order and spacing. Which number is the
day is read from the column itself: a first number above 12 says day first (15/07), a second
above 12 says month first (07/15); points (15.07.2022) are day first, as where they are
written. A column where neither ever exceeds 12 (03/04/2022: March or April?) is left as it is
and named in `Table.ambiguous_dates`, so the report can ask for ISO dates instead of guessing."""

from __future__ import annotations

import re

from nnjournal.data.tabular_encoding import is_missing, parse_dates

_TIME = r"(?:[T ](?P<time>\d{1,2}:\d{2}(?::\d{2})?))?"
_DMY = re.compile(rf"(?P<a>\d{{1,2}})(?P<sep>[/.-])(?P<b>\d{{1,2}})(?P=sep)(?P<year>\d{{4}}){_TIME}")
_YMD = re.compile(rf"(?P<year>\d{{4}})/(?P<a>\d{{1,2}})/(?P<b>\d{{1,2}}){_TIME}")
_MARKED = re.compile(r"\d[/.]\d|\d-\d{1,2}-\d{4}")  # a cheap first test: no column without it is a date


def read_written_dates(columns: dict[str, list[str]]) -> tuple[dict[str, str], list[str]]:
    """Rewrite in place the columns of dates written day/month/year, month/day/year or
    year/month/day as ISO dates. Returns ({column: how it was written, e.g. "DD/MM/YYYY"},
    [columns of dates whose day and month cannot be told apart])."""
    found, ambiguous = {}, []
    for name, values in columns.items():
        if not _MARKED.search("\n".join(values)):
            continue
        read = _rewrite(values)
        if read == "ambiguous":
            ambiguous.append(name)
        elif read is not None:
            columns[name], found[name] = read
    return found, ambiguous


def as_written(iso: str, how: str) -> str:
    """An ISO date (as `read_written_dates` made it) back in the column's own form, `how`."""
    date, _, time = iso.partition(" ")
    year, month, day = date.split("-")
    sep = how[2] if how[0] != "Y" else "/"
    order = {"D": (day, month, year), "M": (month, day, year), "Y": (year, month, day)}[how[0]]
    return sep.join(order) + (f" {time}" if time else "")


def _rewrite(values: list[str]) -> tuple[list[str], str] | str | None:
    present = [v for v in values if not is_missing(v)]
    for pattern in (_DMY, _YMD):  # (a numeric column stops at its first value)
        if present and pattern.fullmatch(present[0]):
            matches = [pattern.fullmatch(v) for v in present]
            if all(matches):
                break
    else:
        return None
    seps = {m["sep"] for m in matches} if pattern is _DMY else {"/"}
    if len(seps) > 1:
        return None
    sep = seps.pop()
    a_big = any(int(m["a"]) > 12 for m in matches)
    b_big = any(int(m["b"]) > 12 for m in matches)
    if pattern is _YMD:
        day_first, how = False, "YYYY/MM/DD"
    elif sep == "." or (a_big and not b_big):
        day_first, how = True, f"DD{sep}MM{sep}YYYY"
    elif b_big and not a_big:
        day_first, how = False, f"MM{sep}DD{sep}YYYY"
    elif not a_big and not b_big:
        return "ambiguous"
    else:
        return None  # both above 12 somewhere: not dates
    iso = {}
    for v, m in zip(present, matches, strict=True):
        day, month = (m["a"], m["b"]) if day_first else (m["b"], m["a"])
        hour, _, rest = (m["time"] or "").partition(":")
        time = f" {int(hour):02d}:{rest}" if m["time"] else ""
        iso[v] = f"{m['year']}-{int(month):02d}-{int(day):02d}{time}"
    if parse_dates(list(iso.values())) is None:  # 31/02/2022: no date
        return None
    return [v if is_missing(v) else iso[v] for v in values], how

"""Numbers as spreadsheets write them: `24%`, `$1,234.50`, `1.736,82 €`, `-0,5`, `12 345`,
`12'345.50`, `(1,234)`, `−0.5`.

A CSV column whose every value is a number written one such way is read as numbers (the
sign, digits and decimal point kept; currency and percent signs and thousands separators
dropped: `24%` is 24, `$1,234.50` is 1234.5; accounting's `(1,234)` is -1234; the
typographic minus `−` is a minus). Otherwise such a column is text, and a text
column with a distinct value in every row (prices, incomes) is left out as an identifier, while
one with few values (discounts) is one-hot encoded: the model loses what the number says.

The decimal mark follows the file's separator: a file separated by commas writes decimals
with a point (and may group thousands with quoted commas, `"1,234.50"`); a file separated by
semicolons or tabs, as spreadsheets save it in much of Europe, writes a decimal comma (and may
group thousands with points, `1.736,82`). Either may group them with spaces (`12 345`, also
no-break ones) or, in Switzerland, apostrophes (`12'345.50`). A column is rewritten only if
every value (blanks and missing words aside) fits one reading with the same symbol and the
same thousands separator, so a column of `1,5` and `words`, of `%` and `$`, or of `1.234,5`
and `1 234,5` stays as it is."""

from __future__ import annotations

import re

from nnjournal.data.tabular_encoding import is_missing, parse_number

SYMBOLS = "$€£¥%"
MINUS = "\u2212"  # the typographic minus sign, as word processors and some exports write it
_SPACES = " \u00a0\u202f'’"  # thousands also grouped by (no-break) spaces and, in Switzerland, apostrophes
_MARKED = re.compile(rf"[$€£¥%,({MINUS}'’\u00a0\u202f]|\d \d{{3}}")  # a value that is no plain number has one
_NUMBER = {  # decimal mark -> one number: plain digits, or thousands grouped by the other mark or a space
    mark: rf"(?:\d+|\d{{1,3}}(?P<group>[{re.escape(other + _SPACES)}])\d{{3}}(?:(?P=group)\d{{3}})*)(?:{re.escape(mark)}\d+)?"
    for mark, other in ((",", "."), (".", ","))
}
_SIGN = rf"[+\-{MINUS}]?"
_VALUE = {  # `(1,234)` is accounting's -1234
    mark: re.compile(
        rf"(?P<open>\()?(?P<sign>{_SIGN})\s*(?P<pre>[$€£¥]?)\s*(?P<sign2>{_SIGN})(?P<num>{num})\s*(?P<post>[$€£¥%]?)(?(open)\))"
    )
    for mark, num in _NUMBER.items()
}


def read_written_numbers(columns: dict[str, list[str]], delimiter: str) -> dict[str, str]:
    """Rewrite in place the columns written as formatted numbers; {column: how it was written}
    (e.g. "decimal comma", "%", "$ and thousands separators") for the report."""
    mark = "." if delimiter == "," else ","
    found = {}
    for name, values in columns.items():
        rewritten = _rewrite(values, mark)
        if rewritten is not None:
            columns[name], found[name] = rewritten
    return found


def written_numbers_note(found: dict[str, str]) -> str:
    """One report line: which columns were read as numbers, and from what."""
    shown = ", ".join(f"{name!r} ({how})" for name, how in found.items())
    return (
        f"Read as numbers: {shown}; currency and percent signs and thousands separators are dropped "
        "(24% is 24, $1,234.50 is 1234.5, 1.736,82 is 1736.82)."
    )


def _rewrite(values: list[str], mark: str) -> tuple[list[str], str] | None:
    """The values as plain numbers and how they were written; None when the column is not
    one kind of formatted number, or is plain numbers already."""
    if not _MARKED.search("\n".join(values)):  # (one pass in C: most columns stop here)
        return None
    present = [v for v in values if not is_missing(v)]
    if all(parse_number(v) is not None for v in present):
        return None  # plain numbers, text without those marks, or nothing: read as they are
    pattern = _VALUE[mark]
    symbols, groups, decimal, accounting, minus = set(), set(), False, False, False
    parsed = {}
    for v in set(present):
        m = pattern.fullmatch(v)
        if m is None or sum(map(bool, (m["sign"], m["sign2"], m["open"]))) > 1:
            return None
        symbols |= {s for s in (m["pre"], m["post"]) if s}
        num, group = m["num"], m["group"]
        groups |= {group} if group else set()
        decimal |= mark == "," and "," in num
        accounting |= bool(m["open"])
        sign = "-" if m["open"] else (m["sign"] or m["sign2"]).replace(MINUS, "-")
        minus |= MINUS in m["sign"] + m["sign2"]
        digits = (num.replace(group, "") if group else num).replace(",", ".")
        parsed[v] = f"{sign}{digits}"
    if len(symbols) > 1 or len(groups) > 1:  # % beside $, two currencies, 1.234 beside 1 234: not one way
        return None
    how = [
        *sorted(symbols),
        *(["thousands separators"] if groups else []),
        *(["a decimal comma"] if decimal else []),
        *(["negatives in parentheses"] if accounting else []),
        *([f"the minus sign {MINUS}"] if minus else []),
    ]
    said = " and ".join(how) if len(how) < 3 else f"{', '.join(how[:-1])} and {how[-1]}"
    return [v if is_missing(v) else parsed[v] for v in values], said

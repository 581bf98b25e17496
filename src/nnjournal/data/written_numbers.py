"""Numbers as spreadsheets write them: `24%`, `$1,234.50`, `1.736,82 €`, `-0,5`.

A CSV column whose every value is a number written one such way is read as numbers (the
sign, digits and decimal point kept; currency and percent signs and thousands separators
dropped: `24%` is 24, `$1,234.50` is 1234.5). Otherwise such a column is text, and a text
column with a distinct value in every row (prices, incomes) is left out as an identifier, while
one with few values (discounts) is one-hot encoded: the model loses what the number says.

The decimal mark follows the file's separator: a file separated by commas writes decimals
with a point (and may group thousands with quoted commas, `"1,234.50"`); a file separated by
semicolons or tabs, as spreadsheets save it in much of Europe, writes a decimal comma (and may
group thousands with points, `1.736,82`). A column is rewritten only if every value (blanks and
missing words aside) fits one reading with the same symbol, so a column of `1,5` and `words`
or of `%` and `$` stays as it is."""

from __future__ import annotations

import re

from nnjournal.data.tabular_encoding import is_missing, parse_number

SYMBOLS = "$€£¥%"
_MARKED = re.compile(r"[$€£¥%,]")  # a value that is no plain number has one of these
_GROUPED = {  # decimal mark -> one number: plain digits, or thousands grouped by the other mark
    ",": r"(?:\d+|\d{1,3}(?:\.\d{3})+)(?:,\d+)?",
    ".": r"(?:\d+|\d{1,3}(?:,\d{3})+)(?:\.\d+)?",
}
_VALUE = {
    mark: re.compile(
        rf"(?P<sign>[+-]?)\s*(?P<pre>[$€£¥]?)\s*(?P<sign2>[+-]?)(?P<num>{num})\s*(?P<post>[$€£¥%]?)"
    )
    for mark, num in _GROUPED.items()
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
    pattern, group = _VALUE[mark], "." if mark == "," else ","  # the thousands separator
    symbols, grouped, decimal = set(), False, False
    parsed = {}
    for v in set(present):
        m = pattern.fullmatch(v)
        if m is None or (m["sign"] and m["sign2"]):
            return None
        symbols |= {s for s in (m["pre"], m["post"]) if s}
        num = m["num"]
        grouped |= group in num
        decimal |= mark == "," and "," in num
        digits = num.replace(group, "").replace(",", ".")
        parsed[v] = f"{m['sign'] or m['sign2']}{digits}"
    if len(symbols) > 1:  # % beside $, or two currencies: not one quantity
        return None
    how = [
        *sorted(symbols),
        *(["thousands separators"] if grouped else []),
        *(["a decimal comma"] if decimal else []),
    ]
    said = " and ".join(how) if len(how) < 3 else f"{', '.join(how[:-1])} and {how[-1]}"
    return [v if is_missing(v) else parsed[v] for v in values], said

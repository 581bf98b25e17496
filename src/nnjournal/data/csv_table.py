"""Reading a CSV file into named columns of strings, with one clear error for each way a
file can be unusable (empty, binary, wrong delimiter, ragged rows, duplicate headers).

A pandas-written index (`df.to_csv()` without `index=False`: a first column with no name, or
`Unnamed: 0` after another round trip, holding a distinct value per row) is not data: it is
left out and named in `Table.index_columns`, so the loader can say so in the report.

Numbers as spreadsheets write them (`24%`, `"$1,234.50"`, and `1.736,82` with a decimal comma
in a file separated by semicolons) are rewritten as plain numbers here
(`data/written_numbers.py`; `Table.written_numbers` names the columns for the report), so
training, `nnj predict` and the series reader all see numbers; dates written 15/07/2022,
07/15/2022, 15.07.2022, 15-Jan-2022, Jan 5, 2022 or months alone (07/2022, Jan-49) become ISO
dates the same way (`data/written_dates.py`).

Everything else stays a string here; deciding what a column *is* happens in
`tabular_encoding.py`, so training and `nnj predict` read files the same way."""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from nnjournal.data.tabular_encoding import parse_number
from nnjournal.data.written_dates import read_written_dates
from nnjournal.data.written_numbers import read_written_numbers
from nnjournal.errors import NNJError

CANDIDATE_DELIMITERS = ",;\t|"
_SAMPLE_CHARS = 64_000
# The header pandas gives a column without a name when it reads a CSV ("Unnamed: 0", and
# "Unnamed: 0.1" for a second one); an empty header is the name `to_csv` writes for its index.
_PANDAS_UNNAMED = re.compile(r"Unnamed: \d+(\.\d+)?")
_EXCEL_SEP = re.compile(r"sep=(.)")  # Excel writes (and reads) a first line `sep=;` naming the separator


@dataclass
class Table:
    """Columns of raw string values in file order; `rows` is the number of data rows."""

    path: Path
    columns: dict[str, list[str]]
    delimiter: str
    # Leading pandas index columns left out (their header as written: "" or "Unnamed: 0").
    index_columns: list[str] = field(default_factory=list)
    # File lines of rows left out because every field is blank (`,,,` lines, e.g. Excel's), so
    # the training report and `nnj predict` can say that the rows read are fewer than the lines
    blank_lines: list[int] = field(default_factory=list)
    # Columns of formatted numbers read as plain ones ("1.736,82" -> "1736.82"), and how they
    # were written ("a decimal comma", "%", "$ and thousands separators")
    written_numbers: dict[str, str] = field(default_factory=dict)
    # Columns of dates written DD/MM/YYYY, MM/DD/YYYY, DD-Mon-YY, MM/YYYY, Mon-YY..., read as ISO dates,
    # and how each was written; columns of such dates whose day and month cannot be told apart
    written_dates: dict[str, str] = field(default_factory=dict)
    ambiguous_dates: list[str] = field(default_factory=list)
    as_written: dict[str, list[str]] = field(default_factory=dict)  # those columns' cells as in the file
    # Cells blanked because they hold one of the caller's missing words (data.missing_values):
    # {column: how many}
    blanked: dict[str, int] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0


def blank_rows_left_out(table: Table) -> str:
    """'N row(s) blank in every column were left out (line 5, 9, ...)', for reports and notes."""
    lines = table.blank_lines
    shown = ", ".join(map(str, lines[:5])) + (", ..." if len(lines) > 5 else "")
    return f"{len(lines)} row(s) blank in every column were left out (line {shown})"


def _decode(path: Path) -> str:
    raw = path.read_bytes()
    if raw[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):  # Excel's "Unicode text" export
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            raise NNJError(f"{path}: starts like UTF-16 text but does not decode; save it as UTF-8 CSV") from None
    if b"\x00" in raw[:_SAMPLE_CHARS]:
        raise NNJError(f"{path}: not a CSV file (it holds binary data); export it as comma-separated text")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:  # Spreadsheet exports on Windows are often cp1252 (latin-1 with € and curly quotes)
        return raw.decode("cp1252")
    except UnicodeDecodeError:  # one of the five bytes cp1252 leaves undefined: latin-1 reads every byte
        return raw.decode("latin-1")


def _spell(delimiter: str) -> str:
    return {"\t": "tab ('\\t')"}.get(delimiter, repr(delimiter))


def _guess_delimiter(text: str) -> str:
    sample = text[:_SAMPLE_CHARS]
    try:
        return csv.Sniffer().sniff(sample, delimiters=CANDIDATE_DELIMITERS).delimiter
    except csv.Error:
        # The sniffer gives up on e.g. one-column files; count candidates on the header line.
        header = sample.splitlines()[0] if sample.splitlines() else ""
        counts = {d: header.count(d) for d in CANDIDATE_DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ","


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_table(path: Path, delimiter: str | None = None, missing_values: Sequence[str] = ()) -> Table:
    """Read `path` (header row first). `delimiter=None` guesses it from the file. Empty lines
    and rows blank in every field are skipped (the latter listed in `blank_lines`). Cells that
    hold one of `missing_values` (whole, ignoring case; a number also written otherwise, -999.0
    for -999) are blanked before anything reads them, and counted in `blanked`."""
    if not path.exists():
        raise NNJError(f"CSV file not found: {path}")
    if path.is_dir():
        raise NNJError(f"{path} is a folder, not a CSV file")
    text = _decode(path)
    if not text.strip():
        raise NNJError(f"{path}: the file is empty")
    first, newline, rest = text.partition("\n")
    excel_hint = _EXCEL_SEP.fullmatch(first.strip())
    if excel_hint:  # Excel's `sep=;` line names the separator; blanked, so line numbers stay the file's
        text = newline + rest
    guessed = delimiter is None
    if guessed and excel_hint:
        delim, how = excel_hint[1], "from the file's sep= line"
    else:
        delim = _guess_delimiter(text) if guessed else delimiter
        how = "guessed" if guessed else "set by data.delimiter"
    rows, lines, blank_lines = [], [], []
    try:
        reader = csv.reader(io.StringIO(text), delimiter=delim)
        for r in reader:
            if any(v.strip() for v in r):
                rows.append(r)
                lines.append(reader.line_num)
            elif len(r) > 1 and rows:  # a row of empty fields after the header (an empty line is no row)
                blank_lines.append(reader.line_num)
    except csv.Error as err:
        raise NNJError(f"{path}: not readable as CSV ({err})") from None
    header = [h.strip() for h in rows[0]]
    body = rows[1:]
    if all(_is_number(h) for h in header):
        shown = ", ".join(header[:4]) + (", ..." if len(header) > 4 else "")
        raise NNJError(
            f"{path}: the first line ({shown}) holds numbers, not column names: the file seems to have no "
            "header row; add one naming the columns (the target among them)"
        )

    if len(header) == 1:
        others = [d for d in CANDIDATE_DELIMITERS if d != delim and d in header[0]]
        if others:
            raise NNJError(
                f"{path}: read as a single column with delimiter {_spell(delim)} ({how}), but the header "
                f"contains {_spell(others[0])}; set data.delimiter to the file's separator"
            )
    if not body:
        raise NNJError(f"{path}: has a header row but no data rows")
    header, body = _without_trailing_separators(header, body)
    for i, row in enumerate(body):
        if len(row) != len(header):
            raise NNJError(
                f"{path}: line {lines[i + 1]} has {len(row)} fields but the header has {len(header)}; the delimiter "
                f"{_spell(delim)} ({how}) may be wrong (set data.delimiter) or a value needs quoting"
            )
    index_columns = _pandas_index_columns(header, body)
    if index_columns:
        header = header[len(index_columns) :]
        body = [row[len(index_columns) :] for row in body]
    seen: set[str] = set()
    for i, name in enumerate(header):
        if not name:
            raise NNJError(
                f"{path}: header column {i + 1 + len(index_columns)} has no name; add one to the header row "
                "(only a first column holding a distinct value per row, as pandas writes its index, may go unnamed)"
            )
        if name in seen:
            raise NNJError(f"{path}: column name {name!r} appears twice in the header")
        seen.add(name)
    columns = {name: [row[j].strip() for row in body] for j, name in enumerate(header)}
    blanked = _blank_missing_words(columns, missing_values)
    as_written = dict(columns)  # the lists; the readers below put new ones in `columns`
    numbers = read_written_numbers(columns, delim)
    dates, ambiguous = read_written_dates(columns)
    as_written = {name: as_written[name] for name in (*numbers, *dates)}
    return Table(path, columns, delim, index_columns, blank_lines, numbers, dates, ambiguous, as_written, blanked)


def _blank_missing_words(columns: dict[str, list[str]], words: Sequence[str]) -> dict[str, int]:
    """Blank in place the cells holding one of `words`; {column: cells blanked} where any were."""
    if not words:
        return {}
    texts = {w.lower() for w in words}
    numbers = {x for x in map(parse_number, words) if x is not None}
    found = {}
    for name, values in columns.items():  # each distinct value is judged once
        blank = {v for v in set(values) if v.lower() in texts or (numbers and parse_number(v) in numbers)}
        if blank:
            columns[name] = ["" if v in blank else v for v in values]
            found[name] = sum(v in blank for v in values)
    return found


def _without_trailing_separators(header: list[str], body: list[list[str]]) -> tuple[list[str], list[list[str]]]:
    """The header and rows without the empty last field that a separator ending every line
    makes (`a,b,y,`: some exporters write it; pandas reads an `Unnamed` column of blanks):
    where the header ends so too, or only the rows do, and that field is blank in every row."""
    while len(header) > 1 and not header[-1] and all(len(r) == len(header) and not r[-1].strip() for r in body):
        header, body = header[:-1], [r[:-1] for r in body]
    if all(len(r) == len(header) + 1 and not r[-1].strip() for r in body):
        body = [r[:-1] for r in body]
    return header, body


def _pandas_index_columns(header: list[str], body: list[list[str]]) -> list[str]:
    """The leading columns that are a pandas index: no name (or pandas' `Unnamed: N`) and a
    distinct, non-blank value in every row (0..n-1, or row ids kept from a filtered frame).
    A nameless column elsewhere, or one with repeats, is left to the header checks."""
    found: list[str] = []
    for j, name in enumerate(header[:-1]):  # the last column is never an index: data must remain
        if name and not _PANDAS_UNNAMED.fullmatch(name):
            break
        values = [row[j].strip() for row in body]
        if not all(values) or len(set(values)) != len(values):
            break
        found.append(name)
    return found

"""The journal site: `runs/index.html`, one row per run (recipe, date, headline metric, link
to its self-contained report). Rewritten after every run; it makes no external requests."""

from __future__ import annotations

import html
from pathlib import Path

from nnjournal.files import atomic_write_text
from nnjournal.journal.run_dir import list_runs

_CSS = """body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:60rem;margin:auto;
padding:1rem;line-height:1.5;color:#222}table{border-collapse:collapse;width:100%;display:block;
overflow-x:auto;font-size:.9rem}td,th{border:1px solid #ccc;padding:.3rem .5rem;text-align:left}
th{background:#f4f4f4}a{color:#0645ad}.muted{color:#777}"""


def _headline(row: dict) -> str:
    h = row.get("headline") or {}
    if not h:
        return ""
    value = h.get("value")
    shown = f"{value:.4f}" if isinstance(value, float) else str(value)
    return f"{h.get('metric', '')} {shown} ({h.get('variant', '')})"


def write_index(root: Path | str) -> Path:
    """(Re-)write `root/index.html` listing every run directory under `root`, newest first."""
    root = Path(root)
    rows = list_runs(root)
    body = []
    for r in rows:
        name = html.escape(r["run"])
        done = r["status"] == "done" and (root / r["run"] / "report.html").exists()
        link = (
            f'<a href="{name}/report.html">report</a>'
            if done
            else f'<span class="muted">{html.escape(r["status"])}</span>'
        )
        body.append(
            "<tr>"
            f"<td>{html.escape(r.get('label') or '')}</td>"
            f"<td>{html.escape((r.get('date') or '').replace('T', ' '))}</td>"
            f"<td>{html.escape(_headline(r))}</td>"
            f"<td>{link}</td>"
            f'<td class="muted">{name}</td>'
            "</tr>"
        )
    table = (
        "<table><thead><tr><th>recipe</th><th>finished (UTC)</th><th>headline (test)</th>"
        "<th>journal entry</th><th>run directory</th></tr></thead><tbody>"
        + "".join(body)
        + "</tbody></table>"
        if body
        else "<p>No runs yet: try <code>nnj run digits-mlp</code>.</p>"
    )
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>nnjournal runs</title><style>{_CSS}</style></head><body>"
        f"<h1>nnjournal: journal of runs</h1><p>{len(rows)} run(s) under <code>{html.escape(str(root))}</code>, newest first.</p>"
        f"{table}</body></html>\n"
    )
    path = root / "index.html"
    atomic_write_text(path, page)
    return path

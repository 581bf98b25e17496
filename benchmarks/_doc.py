"""Write a benchmark's markdown between markers in docs/benchmarks.md, under `## Autoencoders`
(or the `section` given; created when absent), so reruns replace their own block and leave other sections alone."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
SECTION = "## Autoencoders"


def machine_line() -> str:
    load = os.getloadavg()
    cores = os.cpu_count()
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=DOC.parent
    ).stdout.strip()
    return f"{cores} CPU cores, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} at the end; commit {commit}"


def metrics_table(result: Any, cols: list[str], fmt: Callable[[object], str]) -> str:
    """A run's test metrics, one row per model variant then one per baseline, as a markdown table
    of the columns `cols` (a metric a row lacks is left blank)."""
    rows = [
        f"| {n} (model) | " + " | ".join(fmt(m.get(c, "")) for c in cols) + " |"
        for n, m in result.test_metrics.items()
    ]
    rows += [
        f"| {n} (baseline) | " + " | ".join(fmt(b.get(c, "")) for c in cols) + " |"
        for n, b in result.summary["baselines"].items()
    ]
    return f"| | {' | '.join(cols)} |\n|---|{'---|' * len(cols)}\n" + "\n".join(rows) + "\n"


def write_block(key: str, markdown: str, section: str = SECTION) -> None:
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    if section not in text:
        text = text.rstrip() + f"\n\n{section}\n"
    start, end = f"<!-- {key} -->", f"<!-- /{key} -->"
    block = f"{start}\n{markdown.strip()}\n{end}"
    if start in text:
        before, rest = text.split(start, 1)
        after = rest.split(end, 1)[1]
        text = before + block + after
    else:
        # Insert at the end of the Autoencoders section (before the next "## " heading).
        head, tail = text.split(section, 1)
        nxt = tail.find("\n## ")
        body, rest = (tail, "") if nxt < 0 else (tail[:nxt], tail[nxt:])
        text = head + section + body.rstrip() + "\n\n" + block + "\n" + rest
    DOC.write_text(text)

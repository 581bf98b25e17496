"""Render a journal entry (report.md and a self-contained report.html) from the files a run
wrote: summary.json, config.toml and plots/. `nnj report RUN_DIR` re-renders it."""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from nnjournal.errors import NNJError
from nnjournal.files import atomic_write_text
from nnjournal.journal.run_dir import read_summary

# A block is ("h2", text) | ("p", text) | ("ul", [text]) | ("table", headers, rows)
# | ("img", relative_path, caption) | ("pre", text). Markdown and HTML come from the same blocks.
Block = tuple[Any, ...]

def key_metrics(summary: dict[str, Any]) -> list[str]:
    """The metrics a report tabulates, in the task's order (`Task.report_metrics`); older
    summaries without the list fall back to the headline."""
    return summary.get("report_metrics") or [summary["headline"]["metric"]]


def _num(v: Any) -> str:
    if isinstance(v, float) and v != v:  # NaN: a metric that does not apply (e.g. adjusted R² on few rows)
        return "n/a"
    return f"{v:.4f}" if isinstance(v, float) else str(v)


def build_blocks(summary: dict[str, Any], config_text: str) -> list[Block]:
    if "report_blocks" in summary:  # a study lays out its own body (nnjournal.studies)
        return _study_blocks(summary, config_text)
    metrics = [m for m in key_metrics(summary) if any(m in v["test"] for v in summary["variants"].values())]
    b: list[Block] = [("h1", summary.get("title") or f"Journal entry: {summary['recipe']}")]
    b.append(
        (
            "p",
            f"Recipe `{summary['recipe']}`, seed {summary['seed']}, finished {summary['finished_at']} "
            f"in {summary['timings']['total_s']:.1f} s on {summary['device']}.",
        )
    )
    b += [("h2", "Aim"), ("p", summary.get("aim") or "Train and evaluate the model(s) below.")]

    b.append(("h2", "What was run"))
    data = summary["data"]
    items = [f"Data: {data['description']}"] + list(data.get("notes", []))
    for name, v in summary["variants"].items():
        items.append(f"{name}: {v['model']} ({v['n_params']:,} parameters); training: {v['training']}")
    b.append(("ul", items))

    b.append(("h2", "Results"))
    rows = []
    for name, v in summary["variants"].items():
        rows.append([name, "model"] + [_num(v["test"].get(m, "")) for m in metrics])
    for name, v in summary.get("baselines", {}).items():
        rows.append([name, "baseline"] + [_num(v.get(m, "")) for m in metrics])
    b.append(
        ("p", "Test-split metrics of each model next to its baselines (same split, same preprocessing).")
    )
    b.append(("table", ["model", "kind", *metrics], rows))

    split_rows = []
    for name, v in summary["variants"].items():
        for split in ("train", "val", "test"):
            if split in v:
                split_rows.append([name, split] + [_num(v[split].get(m, "")) for m in metrics[:3]])
    b.append(
        (
            "p",
            "The same metrics on each split; the conclusion judges over- and underfitting from the "
            "learning curves and the baselines.",
        )
    )
    b.append(("table", ["model", "split", *metrics[:3]], split_rows))

    b += _threshold_blocks(summary) + _ensemble_blocks(summary) + _cross_validation_blocks(summary)

    return b + _footer_blocks(summary, config_text)


def _study_blocks(summary: dict[str, Any], config_text: str) -> list[Block]:
    b: list[Block] = [("h1", summary.get("title") or f"Study: {summary['recipe']}")]
    profile = f" ({summary['study']['profile']} profile)" if "study" in summary else ""  # tuning entries have none
    b.append(
        (
            "p",
            f"Recipe `{summary['recipe']}`{profile}, seed {summary['seed']}, "
            f"finished {summary['finished_at']} in {summary['timings']['total_s']:.1f} s on {summary['device']}.",
        )
    )
    b += [("h2", "Aim"), ("p", summary.get("aim") or "")]
    b += [tuple(block) for block in summary["report_blocks"]]
    return b + _footer_blocks(summary, config_text)


def _footer_blocks(summary: dict[str, Any], config_text: str) -> list[Block]:
    """Plots, conclusion, resolved configuration and versions: the end of every entry."""
    b: list[Block] = [("img", plot["file"], plot["caption"]) for plot in summary.get("plots", [])]
    b += [("h2", "Conclusion"), ("ul", summary.get("conclusion", []))]
    b += [("h2", "Resolved configuration"), ("pre", config_text)]
    versions = ", ".join(f"{k} {v}" for k, v in summary.get("versions", {}).items())
    b.append(("p", f"Versions: {versions}."))
    return b


def to_markdown(blocks: list[Block]) -> str:
    out: list[str] = []
    for block in blocks:
        kind = block[0]
        if kind in ("h1", "h2"):
            out.append(("# " if kind == "h1" else "## ") + block[1])
        elif kind == "p":
            out.append(block[1])
        elif kind == "ul":
            out.append("\n".join(f"- {item}" for item in block[1]))
        elif kind == "table":
            headers, rows = block[1], block[2]
            out.append(
                "| "
                + " | ".join(headers)
                + " |\n|"
                + "---|" * len(headers)
                + "\n"
                + "\n".join("| " + " | ".join(r) + " |" for r in rows)
            )
        elif kind == "img":
            out.append(f"![{block[2]}]({block[1]})\n\n*{block[2]}*")
        elif kind == "pre":
            out.append("```toml\n" + block[1].rstrip() + "\n```")
    return "\n\n".join(out) + "\n"


_CSS = """body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:60rem;margin:auto;
padding:1rem;line-height:1.5;color:#222}img{max-width:100%;height:auto}table{border-collapse:collapse;
display:block;overflow-x:auto;font-size:.9rem}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:right}
td:first-child,th:first-child,td:nth-child(2){text-align:left}pre{background:#f6f6f6;padding:.75rem;
overflow-x:auto;font-size:.8rem}figure{margin:1rem 0}figcaption{font-style:italic;color:#555}code{background:#f0f0f0}"""


def _inline(text: str) -> str:
    # `code` spans are the only inline markup the reports use.
    parts = html.escape(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


def to_html(blocks: list[Block], run_dir: Path, title: str) -> str:
    body: list[str] = []
    for block in blocks:
        kind = block[0]
        if kind in ("h1", "h2"):
            body.append(f"<{kind}>{_inline(block[1])}</{kind}>")
        elif kind == "p":
            body.append(f"<p>{_inline(block[1])}</p>")
        elif kind == "ul":
            body.append("<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in block[1]) + "</ul>")
        elif kind == "table":
            head = "".join(f"<th>{html.escape(h)}</th>" for h in block[1])
            rows = "".join(
                "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in block[2]
            )
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        elif kind == "img":
            path = run_dir / block[1]
            if path.exists():
                data = base64.b64encode(path.read_bytes()).decode("ascii")
                body.append(
                    f'<figure><img alt="{html.escape(block[2])}" src="data:image/png;base64,{data}">'
                    f"<figcaption>{html.escape(block[2])}</figcaption></figure>"
                )
        elif kind == "pre":
            body.append(f"<pre>{html.escape(block[1])}</pre>")
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
        + "\n".join(body)
        + "</body></html>\n"
    )


class _Timings(BaseModel):
    total_s: float


class _Common(BaseModel):
    """The header fields of every journal entry."""

    seed: int
    finished_at: str
    device: str
    timings: _Timings
    plots: list[dict[str, str]] = []
    conclusion: list[str] = []


class _StudyShape(_Common):
    """Entries that lay out their own body: studies, tuning, lr-find, debug."""

    study: dict[str, Any] | None = None
    report_blocks: list[list[Any]]


class _Data(BaseModel):
    description: str
    notes: list[str] = []


class _RunVariant(BaseModel):
    model: str
    n_params: int
    training: str
    test: dict[str, Any]


class _RunShape(_Common):
    data: _Data
    variants: dict[str, _RunVariant]
    baselines: dict[str, dict[str, Any]] = {}


def check_report_fields(summary: dict[str, Any], path: Path) -> None:
    """An `NNJError` naming the first field the report needs that summary.json lacks."""
    shape = _StudyShape if "report_blocks" in summary else _RunShape
    try:
        shape.model_validate(summary)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise NNJError(
            f"{path} is damaged: {where}: {first['msg'].lower()} (re-run the recipe, or restore the file)"
        ) from None


def render_report(run_dir: Path | str) -> tuple[Path, Path]:
    """(Re-)write report.md and report.html of a finished run; returns their paths."""
    run_dir = Path(run_dir)
    summary = read_summary(run_dir)
    check_report_fields(summary, run_dir / "summary.json")
    config_path = run_dir / "config.toml"
    config_text = config_path.read_text() if config_path.exists() else "(config.toml missing)"
    blocks = build_blocks(summary, config_text)
    md, page = run_dir / "report.md", run_dir / "report.html"
    atomic_write_text(md, to_markdown(blocks))
    atomic_write_text(page, to_html(blocks, run_dir, blocks[0][1]))
    return md, page


def _threshold_blocks(summary: dict[str, Any]) -> list[Block]:
    """Binary classifiers: ranking metrics, and per-class results at 0.5 and at the
    threshold chosen on validation (the precision-recall trade-off in numbers)."""
    out: list[Block] = []
    for name, v in summary["variants"].items():
        b = v.get("binary")
        if not b:
            continue
        r = b["ranking"]
        out.append(("h2", f"Decision threshold and per-class results: {name}"))
        text = (
            f"Test ROC-AUC {r['roc_auc']:.4f}; PR-AUC (average precision) {r['pr_auc']:.4f} against "
            f"{r['positive_rate']:.4f} for a random ranking."
        )
        if "threshold" in b:
            t = b["threshold"]
            goal = t["objective"].replace("_", " ")
            if t["objective"] == "recall_at_precision":
                goal += f" {t['min_precision']:g}" + (
                    "" if t.get("met") else " (not reachable: highest precision used)"
                )
            text += (
                f" Threshold {t['value']:.4f} chosen on the {t['chosen_on']} split for {goal} (there: precision "
                f"{t['precision']:.3f}, recall {t['recall']:.3f}, F1 {t['f1']:.3f})."
            )
        out.append(("p", text))
        rows = []
        for label, key in (("default", "at_0.5"), ("chosen", "at_threshold")):
            if key not in b:
                continue
            res = b[key]
            for cls, m in res["per_class"].items():
                rows.append(
                    [f"{label} ({res['threshold']:.3f})", cls]
                    + [f"{m[k]:.4f}" for k in ("precision", "recall", "f1")]
                    + [str(m["support"]), f"{res['accuracy']:.4f}"]
                )
        out.append(
            ("table", ["threshold", "class", "precision", "recall", "f1", "support", "accuracy"], rows)
        )
    return out


def _ensemble_blocks(summary: dict[str, Any]) -> list[Block]:
    """Ensembles: each member's test metrics next to the combined prediction's; MC dropout."""
    out: list[Block] = []
    for name, v in summary["variants"].items():
        e = v.get("ensemble")
        if e:
            metrics = [m for m in key_metrics(summary) if m in v["test"]][:4]
            rows = [
                [f"member {i}"] + [_num(m.get(k, "")) for k in metrics]
                for i, m in enumerate(e["members_test"])
            ]
            rows.append([f"ensemble ({e['combine']})"] + [_num(v["test"].get(k, "")) for k in metrics])
            out += [
                ("h2", f"Ensemble members and their spread: {name}"),
                (
                    "p",
                    f"{e['size']} members trained by `{e['method']}`; test metrics of each member and of "
                    "their combined prediction.",
                ),
                ("table", ["model", *metrics], rows),
            ]
        mc = v.get("mc_dropout")
        if mc:
            out += [
                ("h2", f"Dropout as an implicit ensemble (Monte-Carlo dropout): {name}"),
                (
                    "table",
                    [
                        "prediction",
                        "test accuracy",
                        "mean entropy, right (nats)",
                        "mean entropy, wrong (nats)",
                    ],
                    [
                        ["one deterministic pass", _num(mc["deterministic_accuracy"]), "", ""],
                        [
                            f"mean of {mc['samples']} passes with dropout on",
                            _num(mc["accuracy"]),
                            _num(mc["entropy_correct"]),
                            _num(mc["entropy_wrong"]),
                        ],
                    ],
                ),
            ]
    return out


def _cross_validation_blocks(summary: dict[str, Any]) -> list[Block]:
    cv = summary.get("cross_validation")
    if not cv:
        return []
    order = ["accuracy", "balanced_accuracy", "f1", "f1_macro", "roc_auc", "log_loss", "rmse", "mae", "r2"]
    metrics = cv.get("metrics") or sorted({m for v in cv["models"].values() for m in v}, key=order.index)

    def cell(v: dict[str, Any]) -> str:
        return f"{v['mean']:.4f}" if v["std"] is None else f"{v['mean']:.4f} ± {v['std']:.4f}"

    rows = [[name] + [cell(v[m]) if m in v else "" for m in metrics] for name, v in cv["models"].items()]
    refit = "preprocessing refitted on each fold's training rows"
    if cv.get("scheme") == "loo":
        return [
            ("h2", "Cross-validation"),
            (
                "p",
                f"Leave-one-out over all {cv['examples']} examples ({refit}): one network per example, "
                "scored on the held-out predictions taken together (one example alone has no ROC AUC); "
                "baselines are not refitted per example.",
            ),
            ("table", ["model", *metrics], rows),
        ]
    kind = "stratified " if cv["stratified"] else ""
    what = f" over all {cv['examples']} examples" if "examples" in cv else ""
    out: list[Block] = [
        ("h2", "Cross-validation"),
        (
            "p",
            f"{kind}{cv['folds']}-fold cross-validation of the whole pipeline{what} ({refit}): mean ± std "
            "over the held-out folds, at the default threshold 0.5.",
        ),
        ("table", ["model", *metrics], rows),
    ]
    if cv.get("per_fold"):
        out.append(
            (
                "table",
                ["fold", "held out", *(f"network {m}" for m in metrics)],
                [[str(i + 1), str(f["n"]), *(f"{f[m]:.4f}" for m in metrics)] for i, f in enumerate(cv["per_fold"])],
            )
        )
    return out

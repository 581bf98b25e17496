"""The journal's hooks for the recurrent unit's tasks (issue 12): baselines beside the
network, report figures and sentences written from the numbers. The task classes delegate
here so that their files keep to the step and the metrics."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nnjournal.evaluation import sequence_baselines as sb
from nnjournal.journal import sequence_plots

LN2 = math.log(2.0)


def _best(summary: dict[str, Any]) -> tuple[str, dict[str, float]]:
    name = summary["headline"]["variant"]
    return name, summary["variants"][name]["test"]


# ---------------------------------------------------------------------------- language model
def lm_baselines(bundle: Any) -> dict[str, dict[str, float]]:
    """Unigram and bigram (Kneser-Ney) losses on the test text, fitted on the training text."""
    text = bundle.source
    V = len(text.vocab)
    out = {}
    for name, loss in (("unigram", sb.unigram_loss(text.train_ids, text.test_ids, V)),
                       ("bigram", sb.bigram_loss(text.train_ids, text.test_ids, V))):
        out[name] = {"loss": loss, "bits_per_char": loss / LN2, "perplexity": math.exp(loss)}
    return out


def lm_samples(model: torch.nn.Module, vocab: Any, section: Any, seed: int, sample_text: Any) -> dict[str, str]:
    """`sample_text` (tasks/language_model.py) at each of the section's temperatures."""
    prompt = section.sample_prompt if all(c in vocab.index for c in section.sample_prompt) else vocab.chars[0]
    return {f"{t:g}": sample_text(model, vocab, prompt, section.sample_length, temperature=t, seed=seed)
            for t in section.sample_temperatures}


def lm_plots(run_dir: Path, results: dict[str, Any]) -> list[dict[str, str]]:
    out = []
    for name, r in results.items():
        samples = getattr(r.task, "samples_", None)
        if not samples:
            continue
        suffix = f"_{name}" if len(results) > 1 else ""
        f = f"plots/samples{suffix}.png"
        sequence_plots.text_samples(samples, f"Generated text ({name}); ⏎ = newline", run_dir / f)
        out.append({"file": f, "caption": f"Samples at temperatures {', '.join(samples)} (0 = greedy): {name}"})
    return out


def lm_conclusion(summary: dict[str, Any]) -> list[str]:
    name, test = _best(summary)
    lines = [f"{name} scores {test['loss']:.3f} nats ({test['bits_per_char']:.3f} bits) per test character, "
             f"perplexity {test['perplexity']:.2f}; it predicts the next character right {test['accuracy']:.1%} "
             "of the time."]
    b = summary.get("baselines", {}).get("bigram")
    if b:
        gain = b["bits_per_char"] - test["bits_per_char"]
        lines.append(f"The bigram model needs {b['bits_per_char']:.3f} bits per character: the network "
                     + (f"saves {gain:.3f} bits per character by using context longer than one character."
                        if gain > 0 else "does not beat it, so it has learned little beyond pairs of characters."))
    val = summary["variants"][name].get("val")
    if val:
        lines.append(f"Validation loss {val['loss']:.3f} nats/char (the issue's goal: 1.50).")
    return lines


# ---------------------------------------------------------------------------- forecasting
def forecast_baselines(task: Any, bundle: Any, with_sarima: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """Persistence, seasonal naive, seasonal drift, Holt-Winters and (optionally) SARIMA, each
    forecasting the same test origins and scored by the same function as the network.
    Returns (forecasts, metrics)."""
    data = bundle.source
    values, origins = data.values, data.test.origin.cpu().numpy()
    h = data.test.y.shape[1]
    season = data.transform.seasonal_lag or 12
    target = data.targets(data.test)
    forecasts = {
        "persistence": sb.persistence_forecast(values, origins, h),
        "seasonal naive": sb.seasonal_naive_forecast(values, origins, h, season),
        "seasonal drift": sb.seasonal_drift_forecast(values, data.train_size, origins, h, season),
    }
    fitted = {
        "Holt-Winters": lambda: sb.holt_winters_forecast(values, data.train_size, origins, h, season),
        "SARIMA": lambda: sb.sarima_forecast(
            values, data.train_size, origins, h, log=bool((values > 0).all()), seasonal_order=(0, 1, 1, season),
        ),
    }
    for name, fit in fitted.items():
        if name == "SARIMA" and not with_sarima:
            continue
        # Each on its own: a series Holt-Winters cannot fit (one season, a zero under its
        # multiplicative season) still gets SARIMA, and the report says what is missing and why.
        try:
            forecast = fit()
            if not np.isfinite(forecast).all():
                raise ValueError("its forecasts are not finite")
            forecasts[name] = forecast
        except Exception as e:  # noqa: BLE001 - statsmodels missing or not converging: report without it
            import logging

            note = f"The {name} baseline could not be fitted on this series and is left out ({str(e).rstrip('.')})."
            bundle.info.notes.append(note)
            logging.getLogger("nnjournal").warning("%s", note)
    return forecasts, {n: task.metrics_from(f, target) for n, f in forecasts.items()}


def forecast_plots(run_dir: Path, results: dict[str, Any], fitted: dict[str, Any]) -> list[dict[str, str]]:
    first = next(iter(results.values()))
    data = first.bundle.source
    start = int(data.test.origin[0]) + 1
    lines = {n: r.task.predict(r.model, data.test)[:, 0] for n, r in results.items()}
    for b in ("seasonal naive", "SARIMA"):
        if b in fitted:
            lines[b] = fitted[b][:, 0]
    sequence_plots.forecast_vs_truth(data.dates, data.values, start, lines,
                                     "One-step-ahead forecasts over the test part", run_dir / "plots/forecast.png")
    return [{"file": "plots/forecast.png", "caption": "The series and each model's forecasts (first step of the "
             "horizon) after the dotted line, the start of the test part"}]


def forecast_conclusion(summary: dict[str, Any]) -> list[str]:
    name, test = _best(summary)
    base = summary.get("baselines", {})
    lines = [f"{name} forecasts the test part with RMSE {test['rmse']:.2f} (MAE {test['mae']:.2f}, "
             f"MAPE {test['mape']:.2f}%) in the series' own units."]
    if base:
        ranked = sorted(base.items(), key=lambda kv: kv[1]["rmse"])
        beaten = [n for n, v in ranked if v["rmse"] > test["rmse"]]
        lines.append("Baseline RMSEs: " + ", ".join(f"{n} {v['rmse']:.2f}" for n, v in ranked) + "; "
                     + (f"{name} beats {', '.join(beaten)}." if beaten else f"{name} beats none of them."))
    steps = sorted((k for k in test if k.startswith("rmse_h")), key=lambda k: int(k[6:]))
    if len(steps) > 1:
        lines.append(f"Error grows with the horizon: RMSE {test[steps[0]]:.1f} one step ahead, "
                     f"{test[steps[-1]]:.1f} at {len(steps)} steps.")
    return lines


# ---------------------------------------------------------------------------- seq2seq
def seq2seq_plots(run_dir: Path, results: dict[str, Any]) -> list[dict[str, str]]:
    out = []
    for name, r in results.items():
        if getattr(r.model, "attention", "none") == "none" or r.task.vocab is None:
            continue
        test = r.bundle.test.take(torch.arange(1))
        was = r.model.training
        r.model.eval()
        with torch.no_grad():
            tokens, attn = r.model.greedy_decode(test.x, test.lengths, max_len=int(test.target_lengths[0]) - 1)
        r.model.train(was)
        vocab = r.task.vocab
        src = [vocab.decode([int(i)]) or "·" for i in test.x[0, : int(test.lengths[0])]]
        out_text = vocab.decode(tokens[0])
        n_out = max(1, len(out_text))
        weights = attn[0, :n_out, : len(src)].cpu().numpy()
        suffix = f"_{name}" if len(results) > 1 else ""
        f = f"plots/attention{suffix}.png"
        sequence_plots.attention_map(weights, src, list(out_text) or ["?"],
                                     f"{''.join(src)!r} -> {out_text!r} ({name})", run_dir / f)
        out.append({"file": f, "caption": f"Attention weights of one unseen test date: {name}"})
    return out


def seq2seq_conclusion(summary: dict[str, Any]) -> list[str]:
    v = summary["variants"]
    lines = [f"{n}: {x['test']['exact_match']:.1%} of unseen test dates translated exactly "
             f"(per-character accuracy {x['test']['accuracy']:.1%})." for n, x in v.items()]
    if len(v) > 1:
        name, test = _best(summary)
        worst = min(v, key=lambda n: v[n]["test"]["exact_match"])
        if worst != name:
            lines.append(f"{name} beats {worst} by {test['exact_match'] - v[worst]['test']['exact_match']:.1%} "
                         "exact match.")
    return lines


def mean_predictor(bundle: Any) -> dict[str, dict[str, float]]:
    """Sequence regression's floor: predict the training mean."""
    y, mean = bundle.test.y.double(), float(bundle.train.y.double().mean())
    mse = float(((y - mean) ** 2).mean())
    return {"mean": {"loss": mse, "mse": mse, "rmse": mse**0.5, "mae": float((y - mean).abs().mean())}}

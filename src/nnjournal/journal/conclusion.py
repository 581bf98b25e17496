"""The conclusion of a journal entry, written from the numbers (never from expectations).

How `write_conclusion` judges, and why:

- **Differences.** Best model against the best baseline, and models among each other: a
  difference is a finding only outside the 95% noise of a test split that size
  (`evaluation/uncertainty.py`); inside it the sentence says "within noise". One test row is
  never a finding.
- **Overfitting** is read from the learning curves (`summary["learning_curves"]`): the
  validation loss of the last epochs (the mean of up to three, at least two after the minimum)
  is at least RISE (10%) above its minimum, and that rise is at least RISE_OF_FALL (1%) of
  the curve's whole range (so a loss near zero that wobbles is not "rising"), while the
  training loss fell at least TRAIN_FELL (5%) more after the validation minimum. Fixed gaps in
  a metric's own units mean nothing (an RMSE of 9,000 can be small); the curves and ratios do.
- **A generalization gap** (no curve evidence): the held-out error (validation, else test; an
  error is the metric itself when lower is better, 1 - score for scores up to 1) is at least
  GAP_RATIO (2x) the training split's, outside noise. It is never claimed when the held-out
  error is the lower one or while the validation loss is still falling.
- **Underfitting** is read against the baselines: the best baseline beats the network on test
  beyond noise, and the network's score on its own training split is no better than that
  baseline's on the unseen test split (so the gap is not one of generalization); or its
  training score is no better than the majority-class / mean baseline's (it fitted nothing,
  like a perceptron on XOR). A low training score on noisy data is not underfitting when
  simpler models do no better.
- **Training moved away from a fit**: the training loss at the end (the mean of the last
  three epochs) is at least DIVERGED (2x) its value after the first epoch and its lowest, so
  the steps made the fit worse, as a too high learning rate does (a loss that grows without
  becoming infinite escapes the non-finite guard). Then it says to lower the rate or clip
  gradients, and not that the model underfits (whose advice includes a higher rate).
- **Still improving**: training did not stop early and its validation loss (the training loss
  without a validation split) is still falling clearly at the end: the last epoch is the lowest
  of the last three and within NEAR_LOW (1%) of the minimum, and the last tenth of the epochs
  (at least three) brought at least IMPROVING (2%) of the curve's whole fall. A loss creeping
  towards zero on a solved problem (XOR's 0.0020 -> 0.0017 over 100 epochs) is not a reason
  to train longer. Then: train longer.
- **Imbalance**: with one class at least IMBALANCED_SHARE (80%) of the held-out rows, it says
  why the headline is not accuracy, or, where a recipe chose accuracy, what accuracy hides.
"""

from __future__ import annotations

import math
from typing import Any

from nnjournal.evaluation.metrics import IMBALANCED_SHARE, majority_share
from nnjournal.evaluation.uncertainty import difference_noise

RISE = 0.10
RISE_OF_FALL = 0.01
TRAIN_FELL = 0.05
GAP_RATIO = 2.0
IMPROVING = 0.02  # of the curve's range, fallen over the last tenth of the epochs
NEAR_LOW = 0.01
DIVERGED = 2.0  # training loss at the end / after epoch 1 (and / its lowest): the steps made it worse
TAIL = 3  # epochs averaged at the end of a curve
FLOORS = ("majority class", "mean")  # the baselines that learn nothing from the inputs


def _fmt(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.3f}"


def _num(v: float) -> str:
    """A number for a sentence: thousands separated, never a non-zero shown as 0.000."""
    a = abs(v)
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 0.01 or a == 0:
        return f"{v:.3f}"
    return f"{v:.2g}"  # 0.0053, 7e-05: two significant digits


def _apart(a: float, b: float) -> tuple[str, str]:
    """`_num` of both, with more decimals where they would print the same (0.033 vs 0.033)."""
    for digits in (3, 4, 5, 6):
        x, y = (_num(v) if digits == 3 else f"{v:.{digits}f}" for v in (a, b))
        if x != y:
            break
    return x, y


def _epochs(k: int) -> str:
    return f"{k} epoch" if k == 1 else f"{k} epochs"


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs)


class _Context:
    """What every sentence about the headline metric needs: its direction and the noise."""

    def __init__(self, summary: dict[str, Any]) -> None:
        self.metric = summary["headline"]["metric"]
        self.lower = summary["directions"][self.metric] == "min"
        data = summary.get("data") or {}
        self.sizes: dict[str, int] = data.get("sizes") or {}
        self.counts: dict[str, list[int]] = data.get("class_counts") or {}
        self.class_names = data.get("class_names")

    def best_baseline(self, baselines: dict[str, Any]) -> tuple[str, float]:
        name = (min if self.lower else max)(baselines, key=lambda n: baselines[n][self.metric])
        return name, baselines[name][self.metric]

    def better(self, a: float, b: float) -> bool:
        return a < b if self.lower else a > b

    def noise(self, a: float, b: float, split: str = "test") -> float | None:
        return difference_noise(self.metric, a, b, self.sizes.get(split), self.counts.get(split))

    def clearly_better(self, a: float, b: float) -> bool:
        half = self.noise(a, b)
        return self.better(a, b) and (half is None or abs(a - b) > half)

    def within(self, a: float, b: float) -> float | None:
        """The noise half-width when `a` and `b` are within it, else None."""
        half = self.noise(a, b)
        return half if half is not None and abs(a - b) <= half else None

    def rows(self, split: str = "test") -> str:
        n = self.sizes.get(split)
        return f"{n:,} {split} rows" if n else f"this {split} split"

    def error(self, v: float) -> float | None:
        if self.lower:
            return v
        return 1 - v if v <= 1 else None


def write_conclusion(summary: dict[str, Any]) -> list[str]:
    """Sentences on the headline metric: the ranking, the baselines, each model's fit and how
    its training ended (see the module's note for the rules)."""
    ctx = _Context(summary)
    metric = ctx.metric
    variants: dict[str, Any] = summary["variants"]
    baselines = {n: b for n, b in (summary.get("baselines") or {}).items() if metric in b}
    # issue 18: a baseline at another operating point (a codec at a higher rate) is no rival here.
    baselines = {n: b for n, b in baselines.items() if not b.get("other_operating_point")}
    curves: dict[str, Any] = summary.get("learning_curves") or {}
    ranked = sorted(variants.items(), key=lambda kv: kv[1]["test"][metric], reverse=not ctx.lower)
    lines = _imbalance(summary, ctx, ranked[0])
    lines += _ranking(ranked, ctx)
    best_name, best = ranked[0]
    if baselines:
        lines += _against_baselines(best_name, best["test"][metric], baselines, ranked, ctx)
    for name, v in ranked:
        facts = _curve_facts(curves.get(name) or {})
        # A variant trained without a loss curve (a GAN's two-player game) has no fit to judge:
        # its "training split" numbers are the same samples' and its baseline is a ceiling.
        if "learning_curves" not in summary or name in curves:
            lines += _fit(name, v, facts, baselines, ctx)
        lines += _training_end(name, v.get("history") or {}, facts)
    return lines


def _imbalance(summary: dict[str, Any], ctx: _Context, best: tuple[str, Any]) -> list[str]:
    """Why the headline is not accuracy on imbalanced data, or what accuracy hides there."""
    held = [ctx.counts[s] for s in ("val", "test") if s in ctx.counts] or [ctx.counts.get("train", [])]
    counts = [sum(c) for c in zip(*held, strict=True)]
    if not counts or majority_share(counts) < IMBALANCED_SHARE:
        return []
    share = majority_share(counts)
    top = counts.index(max(counts))
    label = repr(ctx.class_names[top]) if ctx.class_names and top < len(ctx.class_names) else f"class {top}"
    floor = summary.get("baselines", {}).get("majority class", {}).get("accuracy", share)
    name, test = best[0], best[1]["test"]
    opening = f"{share:.0%} of the held-out rows are one class ({label}): accuracy "
    if ctx.metric != "accuracy":
        beside = f"; {name}'s test accuracy is {_fmt(test['accuracy'])} beside it" if "accuracy" in test else ""
        return [
            opening + f"would reward always answering it (that alone scores {_fmt(floor)}), so the headline "
            f"is {ctx.metric}{beside}."
        ]
    others = [f"{m} {_fmt(test[m])}" for m in ("balanced_accuracy", "roc_auc") if m in test]
    say_more = f"; {name}'s {' and '.join(others)} {'say' if len(others) > 1 else 'says'} more" if others else ""
    return [opening + f"rewards always answering it (that alone scores {_fmt(floor)}){say_more}."]


def _ranking(ranked: list[tuple[str, Any]], ctx: _Context) -> list[str]:
    metric = ctx.metric
    best_name, best = ranked[0]
    top = best["test"][metric]
    if len(ranked) == 1:
        return [f"{best_name} reaches a test {metric} of {_fmt(top)}."]
    order = ", ".join(f"{n} {_fmt(v['test'][metric])}" for n, v in ranked)
    close = [(n, v["test"][metric], ctx.within(top, v["test"][metric])) for n, v in ranked[1:]]
    close = [(n, score, h) for n, score, h in close if h is not None]
    if not close:
        return [f"Test {metric}, best first: {order}. {best_name} is the best model here."]
    names = ", ".join(n for n, _, _ in close)
    gap = max(abs(top - score) for _, score, _ in close)
    return [
        f"Test {metric}, best first: {order}. {best_name} leads, but {names} "
        f"{'is' if len(close) == 1 else 'are'} within noise of it (differences up to {_num(gap)}, "
        f"inside ±{_num(max(h for _, _, h in close))} for {ctx.rows()}): none of them is shown the better."
    ]


def _against_baselines(
    best_name: str, score: float, baselines: dict[str, Any], ranked: list[tuple[str, Any]], ctx: _Context
) -> list[str]:
    metric = ctx.metric
    b_name, b_score = ctx.best_baseline(baselines)
    diff = score - b_score
    half = ctx.noise(score, b_score)
    head = f"The best baseline is {b_name} at {_fmt(b_score)}; "
    if diff == 0:
        lines = [head + f"{best_name} scores the same."]
    elif half is not None and abs(diff) <= half:
        floor = ", so it has not shown that it learned the task" if b_name in FLOORS else ""
        lines = [
            head + f"{best_name}'s {_fmt(score)} is within noise of it (difference {_num(abs(diff))}, inside "
            f"±{_num(half)} for {ctx.rows()}): neither is shown the better{floor}."
        ]
    else:
        word = "better" if ctx.better(score, b_score) else "worse"
        if half is None:
            lines = [head + f"{best_name} is {word} by {_num(abs(diff))} (no noise estimate for {metric})."]
        else:
            d, h = _apart(abs(diff), half)
            lines = [head + f"{best_name} is {word} by {d} (beyond the ±{h} noise of {ctx.rows()})."]
    floor_name = next((n for n in FLOORS if n in baselines), None)
    if floor_name:
        floor = baselines[floor_name][metric]
        for name, v in ranked:
            s = v["test"][metric]
            if not ctx.better(s, floor):
                lines.append(
                    f"{name} does no better than the {floor_name} baseline ({_fmt(floor)}): it has not "
                    "learned the task with this model and data."
                )
            elif (h := ctx.within(s, floor)) is not None and not (name == best_name and floor_name == b_name):
                lines.append(
                    f"{name} is within noise of the {floor_name} baseline ({_fmt(s)} vs {_fmt(floor)}, inside "
                    f"±{_num(h)} for {ctx.rows()}): it has not shown that it learned the task."
                )
    return lines


def _curve_facts(curve: dict[str, list[float]]) -> dict[str, Any] | None:
    """The shape of one variant's loss curves: where the judged loss (validation, else
    training) was lowest, how far it rose after, how far training fell meanwhile."""
    val, train = curve.get("val_loss") or [], curve.get("train_loss") or []
    series = val or train
    if not series or not all(math.isfinite(x) for x in series):
        return None
    n = len(series)
    low = min(range(n), key=series.__getitem__)
    after = series[low + 1 :]
    rise = _mean(after[-TAIL:]) - series[low] if len(after) >= 2 else 0.0
    span = max(series) - series[low]
    rising = (
        bool(val) and series[low] != 0 and rise > 0 and rise >= RISE * abs(series[low]) and rise >= RISE_OF_FALL * span
    )
    fell = None
    if len(train) == n and train[low] > 0:
        fell = (train[low] - train[-1]) / train[low]
    window = min(max(TAIL, n // 10), n - 1)  # the last tenth of the run, at least TAIL epochs
    improving = (
        window > 0
        and series[-1] == min(series[-TAIL:])
        and series[-1] <= series[low] + NEAR_LOW * abs(series[low])
        and series[-1 - window] - series[-1] >= IMPROVING * span
    )
    return {
        "label": "validation loss" if val else "training loss",
        "series": series,
        "epochs": n,
        "low": low + 1,  # 1-based, as history.best_epoch
        "rise": rise / abs(series[low]) if series[low] else 0.0,
        "overfit": rising and fell is not None and fell >= TRAIN_FELL,
        "train_span": (train[low], train[-1]) if fell is not None else None,
        "improving": improving and not rising,
        "window": window,
        "has_val": bool(val),
        "train_rose": _rose(train),
    }


def _rose(train: list[float]) -> tuple[float, float, float, int] | None:
    """(after epoch 1, at the end, lowest, its epoch) when the training loss ended at least
    DIVERGED times above both its first and its lowest value; None otherwise. Only positive
    losses (a ratio of a negative loss says nothing)."""
    if len(train) < TAIL + 1 or not all(math.isfinite(x) for x in train) or train[0] <= 0:
        return None
    end, low = _mean(train[-TAIL:]), min(range(len(train)), key=train.__getitem__)
    if end >= DIVERGED * train[0] and train[low] > 0 and end >= DIVERGED * train[low]:
        return train[0], end, train[low], low + 1
    return None


def _fit(
    name: str, v: dict[str, Any], facts: dict[str, Any] | None, baselines: dict[str, Any], ctx: _Context
) -> list[str]:
    """Overfitting (curves), a generalization gap, symmetric layers or underfitting (baselines)."""
    metric = ctx.metric
    train, test = v.get("train", {}), v["test"]
    h = v.get("history") or {}
    if facts and facts["overfit"]:
        t0, t1 = _apart(*facts["train_span"])
        how = (
            f"its validation loss rose {facts['rise']:.0%} above its minimum at epoch {facts['low']} "
            f"(of {facts['epochs']}) while its training loss kept falling ({t0} -> {t1})"
        )
        if h.get("restored_best"):  # the next sentence says which epoch's weights were kept
            return [f"{name} began to overfit after epoch {facts['low']}: {how}."]
        return [
            f"{name} overfits: {how}; more regularization or data, or early stopping with restore_best "
            "(training.early_stopping), should help."
        ]
    if facts and facts["train_rose"]:
        first, end, low, at = facts["train_rose"]
        return [
            f"{name}'s training loss grew instead of falling: {_num(first)} after epoch 1, {_num(end)} at the end "
            f"(lowest {_num(low)}, epoch {at}): the steps made the fit worse, as a too high learning rate does; "
            "lower training.optimizer.lr (10x or more) or clip gradients (training.clip.norm)."
        ]
    lines = []
    if metric in train:
        held_split = "val" if metric in v.get("val", {}) else "test"
        held = v.get(held_split, {}).get(metric)
        e_tr, e_ho = ctx.error(train[metric]), ctx.error(held) if held is not None else None
        still_falling = facts is not None and facts["has_val"] and facts["improving"]
        if e_tr is not None and e_ho is not None and e_ho > e_tr and e_ho >= GAP_RATIO * e_tr and not still_falling:
            half = ctx.noise(train[metric], held, held_split)
            if half is None or abs(held - train[metric]) > half:
                ratio = f"{e_ho / e_tr:.1f}x its training error" if e_tr > 0 else "no error on the training split"
                flat = facts is not None and facts["has_val"] and facts["rise"] < RISE
                curve = "; its validation loss did not rise, so the curves show no overfitting" if flat else ""
                lines.append(
                    f"{name} scores {metric} {_fmt(train[metric])} on its training split and {_fmt(held)} on the "
                    f"{'validation' if held_split == 'val' else 'test'} split ({ratio}): a generalization gap "
                    f"that more regularization or data may narrow{curve}."
                )
        if v.get("symmetric_layers"):  # weak, but not for lack of capacity
            lines.append(
                f"{name}'s hidden units are all identical in layer(s) {v['symmetric_layers']}: the symmetry "
                f"of its initialization was never broken (each unit got the same gradient), so each such layer "
                f"acts as one unit; that, not capacity, explains {metric} {_fmt(train[metric])} on the training split."
            )
        elif baselines:
            b_name, b_score = ctx.best_baseline(baselines)
            floor = next((n for n in FLOORS if n in baselines), None)
            if floor is not None and not ctx.better(train[metric], baselines[floor][metric]):
                b_name, b_score = floor, baselines[floor][metric]  # it did not fit even its training rows
            elif ctx.better(train[metric], b_score) or not ctx.clearly_better(b_score, test[metric]):
                b_name = None
            if b_name is not None:
                lines.append(
                    f"{name} underfits: on its own training split it scores {metric} {_fmt(train[metric])}, no "
                    f"better than {b_name} does on the unseen test split ({_fmt(b_score)}); more capacity, "
                    "longer training or a higher learning rate could help."
                )
    return lines


def _training_end(name: str, h: dict[str, Any], facts: dict[str, Any] | None) -> list[str]:
    """Stopped early, best weights restored, or still improving at the last epoch."""
    if h.get("stopped_early"):
        return [
            f"{name} stopped early after {h['epochs_run']} epochs; the best epoch was {h['best_epoch']} "
            f"by {h['monitor']}{' and its weights were restored' if h.get('restored_best') else ''}."
        ]
    lines = []
    if h.get("restored_best"):
        lines.append(
            f"{name}'s best epoch by {h['monitor']} was {h['best_epoch']} of {h['epochs_run']}; "
            "its weights were restored for testing."
        )
    if facts is not None:
        still = facts["improving"]
    else:  # no curves: the monitor's best epoch
        still = bool(h.get("epochs_run")) and h.get("best_epoch") == h.get("epochs_run")
    if still:
        if facts is not None:
            s, k = facts["series"], facts["window"]
            a, b = _apart(s[-1 - k], s[-1])
            trend = f"{facts['label']} {a} -> {b} over its last {_epochs(k)}, lowest at epoch {facts['low']} of {facts['epochs']}"
        else:
            trend = f"best {h['monitor']} at epoch {h['best_epoch']} of {h['epochs_run']}"
        lines.append(f"{name} was still improving at the last epoch ({trend}): train longer (training.epochs).")
    return lines


def reconstruction_conclusion(summary: dict[str, Any]) -> list[str]:
    """Sentences about autoencoders, from the numbers: denoising gain, the PCA comparison,
    code sparsity, and the VAE's likelihood bounds."""
    lines: list[str] = []
    variants: dict[str, Any] = summary["variants"]
    baselines: dict[str, Any] = summary.get("baselines", {})
    pca = next(((n, b) for n, b in baselines.items() if n.startswith("PCA")), None)
    for name, v in variants.items():
        t = v["test"]
        if "input_psnr" in t and "psnr" in t:
            lines.append(
                f"{name} raises the test PSNR from {t['input_psnr']:.2f} dB (its input) to {t['psnr']:.2f} dB "
                f"({t['psnr'] - t['input_psnr']:+.2f} dB)."
            )
        if pca is not None and "mse" in t and pca[1]["mse"] == 0:  # a code as wide as the data: no ratio
            lines.append(
                f"{pca[0]} reconstructs the test set exactly (MSE 0): its code is as wide as the data, so "
                f"{name}'s test MSE {t['mse']:.4f} has nothing to beat; lower model.code_size below the "
                "number of input features."
            )
        elif pca is not None and "mse" in t:
            ratio = t["mse"] / pca[1]["mse"]
            rel = "below" if ratio < 1 else "above"
            lines.append(
                f"{name}'s test reconstruction MSE {t['mse']:.4f} is {abs(1 - ratio) * 100:.1f}% {rel} "
                f"{pca[0]}'s {pca[1]['mse']:.4f}."
            )
        if "elbo" in t:
            lines.append(
                f"{name}: test ELBO {t['elbo']:.1f} nats, importance-sampled NLL {t['nll_is']:.1f} nats "
                "(64 samples per image, first 300 test images) "
                f"(the bound is {(-t['elbo']) - t['nll_is']:.1f} nats loose); "
                f"{int(t['active_latent_dims'])} latent dimensions carry information."
            )
    coded = {n: v["test"] for n, v in variants.items() if "code_mean_activation" in v["test"]}
    if len(coded) > 1:
        order = sorted(coded, key=lambda n: coded[n]["code_mean_activation"])
        lines.append(
            "Mean code activation, lowest first: "
            + ", ".join(
                f"{n} {coded[n]['code_mean_activation']:.3f} ({coded[n]['code_inactive_fraction'] * 100:.0f}% "
                "inactive)"
                for n in order
            )
            + "."
        )
    raw = baselines.get("raw inputs", {})
    for name, v in variants.items():
        for clf in ("logreg", "gbm"):
            key = f"downstream_{clf}_accuracy"
            if key in v["test"] and key in raw:
                label = {"logreg": "logistic regression", "gbm": "gradient boosting"}[clf]
                lines.append(
                    f"{label} on {name}'s codes reaches test accuracy {v['test'][key]:.3f} vs "
                    f"{raw[key]:.3f} on the raw inputs."
                )
    # Super-resolution and colorization: the classical resizers and colour models
    # (evaluation/upscaling.py, evaluation/colour_baseline.py), judged against the best one.
    classical = {
        n: b for n, b in baselines.items() if "upsampling" in n or n.startswith("grey") or "colour model" in n
    }
    if classical and all("psnr" in b for b in classical.values()):
        best_c = max(classical, key=lambda n: classical[n]["psnr"])
        for name, v in variants.items():
            if "psnr" in v["test"]:
                diff = v["test"]["psnr"] - classical[best_c]["psnr"]
                lines.append(
                    f"{name} is {abs(diff):.2f} dB {'above' if diff > 0 else 'below'} the best classical answer "
                    f"({best_c}, {classical[best_c]['psnr']:.2f} dB); SSIM {v['test'].get('ssim', float('nan')):.4f} "
                    f"against {classical[best_c].get('ssim', float('nan')):.4f}."
                )
    filters = {n: b["psnr"] for n, b in baselines.items() if "filter" in n or "blur" in n}
    if filters:
        best_f = max(filters, key=filters.get)
        for name, v in variants.items():
            if "psnr" in v["test"]:
                diff = v["test"]["psnr"] - filters[best_f]
                lines.append(
                    f"{name} is {abs(diff):.2f} dB {'above' if diff > 0 else 'below'} the best classical "
                    f"filter ({best_f}, {filters[best_f]:.2f} dB)."
                )
    # issue 18: inpainting baselines are told which pixels changed, which the network is not.
    for base, b in ((n, b) for n, b in baselines.items() if "inpainting" in n and "psnr" in b):
        for name, v in variants.items():
            if "psnr" in v["test"]:
                diff = v["test"]["psnr"] - b["psnr"]
                lines.append(
                    f"{name} is {abs(diff):.2f} dB {'above' if diff > 0 else 'below'} {base} ({b['psnr']:.2f} dB), "
                    "which is given the true mask of the changed pixels; the network is not."
                )
    return lines

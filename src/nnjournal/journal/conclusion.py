"""The conclusion of a journal entry, written from the numbers (never from expectations)."""

from __future__ import annotations

from typing import Any


def _fmt(v: float) -> str:
    return f"{v:.3f}"


def write_conclusion(summary: dict[str, Any]) -> list[str]:
    metric = summary["headline"]["metric"]
    lower = summary["directions"][metric] == "min"
    variants: dict[str, Any] = summary["variants"]
    baselines: dict[str, Any] = summary.get("baselines", {})
    ranked = sorted(variants.items(), key=lambda kv: kv[1]["test"][metric], reverse=not lower)
    lines: list[str] = []

    best_name, best = ranked[0]
    if len(ranked) > 1:
        order = ", ".join(f"{n} {_fmt(v['test'][metric])}" for n, v in ranked)
        lines.append(f"Test {metric}, best first: {order}. {best_name} is the best model here.")
    else:
        lines.append(f"{best_name} reaches a test {metric} of {_fmt(best['test'][metric])}.")

    if baselines:
        b_name, b = (
            min(baselines.items(), key=lambda kv: kv[1][metric])
            if lower
            else max(baselines.items(), key=lambda kv: kv[1][metric])
        )
        margin = best["test"][metric] - b[metric]
        better = margin < 0 if lower else margin > 0
        lines.append(
            f"The best baseline is {b_name} at {_fmt(b[metric])}; {best_name} is "
            f"{'better' if better else 'not better'} by {abs(margin):.3f}."
        )
        floor_name = (
            "majority class" if "majority class" in baselines else "mean" if "mean" in baselines else None
        )
        if floor_name:
            floor = baselines[floor_name][metric]
            for name, v in ranked:
                no_better = v["test"][metric] >= floor if lower else v["test"][metric] <= floor
                if no_better:
                    lines.append(
                        f"{name} does no better than the {floor_name} baseline ({_fmt(floor)}): it has not "
                        "learned the task with this model and data."
                    )

    for name, v in ranked:
        train, test = v.get("train", {}), v["test"]
        if metric in train:
            gap = (test[metric] - train[metric]) if lower else (train[metric] - test[metric])
            if gap > 0.05:
                lines.append(
                    f"{name} fits the training split much better than the test split "
                    f"({metric} {_fmt(train[metric])} vs {_fmt(test[metric])}, gap {gap:.3f}): it overfits; "
                    "more regularization or data should help."
                )
            elif v.get("symmetric_layers"):  # weak, but not for lack of capacity
                lines.append(
                    f"{name}'s hidden units are all identical in layer(s) {v['symmetric_layers']}: the symmetry "
                    f"of its initialization was never broken (each unit got the same gradient), so each such layer "
                    f"acts as one unit; that, not capacity, explains {metric} {_fmt(train[metric])} on the training split."
                )
            elif not lower and train[metric] < 0.9 and test[metric] < 0.9:
                lines.append(
                    f"{name} is weak on the training split too ({metric} {_fmt(train[metric])}): it underfits; "
                    "more capacity or training could help."
                )
        h = v.get("history", {})
        if h.get("stopped_early"):
            lines.append(
                f"{name} stopped early after {h['epochs_run']} epochs; the best epoch was {h['best_epoch']} "
                f"by {h['monitor']}{' and its weights were restored' if h.get('restored_best') else ''}."
            )
        elif h.get("restored_best"):
            lines.append(
                f"{name}'s best epoch by {h['monitor']} was {h['best_epoch']} of {h['epochs_run']}; "
                "its weights were restored for testing."
            )
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
        if pca is not None and "mse" in t:
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
    return lines

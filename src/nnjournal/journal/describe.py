"""One-line descriptions of a run's model and its training, for the report."""

from __future__ import annotations

from typing import Any

from nnjournal.models.cnn import describe_cnn
from nnjournal.regularization.ensemble import snapshot_cycle_epochs
from nnjournal.regularization.penalties import WeightPenalty
from nnjournal.training.history import History
from nnjournal.training.optim import describe_weight_decay


def describe_model(cfg: Any, task: Any) -> str:
    single = task.describe_model(cfg) or describe_single_model(cfg.model)
    e = cfg.ensemble
    if e.size > 1:
        how = {
            "seeds": "different seeds",
            "bagging": "bootstrap samples",
            "snapshot": "cosine-cycle snapshots",
        }
        combine = "majority vote" if e.combine == "vote" else "averaged probabilities"
        combine = combine if task.ensemble_outputs == "logits" else "averaged outputs"
        return f"ensemble of {e.size} ({how[e.method]}, {combine}) of: {single}"
    return single


def describe_single_model(m: Any) -> str:
    if m.name == "mlp":
        parts = [f"MLP hidden {m.hidden}", m.activation]
        if m.init != "default":
            parts.append(f"{m.init} init")
        if m.dropout_input or m.dropout_hidden:
            parts.append(f"dropout {m.dropout_input:g} input / {m.dropout_hidden:g} hidden")
        if m.norm != "none":
            parts.append(f"{m.norm} norm {m.norm_placement.replace('_', ' ')}")
        if m.noise_hidden:
            parts.append(f"Gaussian noise σ {m.noise_hidden:g} on hidden activations")
        return ", ".join(parts)
    if m.name == "perceptron":
        return "single-layer perceptron (linear)"
    if hasattr(m, "blocks") or m.name in ("lenet5", "vgg-small", "resnet-small"):
        return describe_cnn(m)
    if m.name in ("rnn", "char-lm", "seq2seq", "forecaster"):
        return describe_recurrent(m)
    return m.name


def describe_recurrent(m: Any) -> str:
    """E.g. "LSTM 2x256 character language model (fused cells), dropout 0.2" or "seq2seq GRU 64, bahdanau attention"."""
    cell = {"elman": "Elman RNN", "lstm": "LSTM", "gru": "GRU"}[m.cell]
    if m.name == "seq2seq":
        return f"seq2seq: bidirectional {cell} encoder, {cell} decoder, {m.hidden} units, {m.attention} attention"
    kind = {"rnn": "sequence model", "char-lm": "character language model", "forecaster": "forecaster"}[m.name]
    parts = [f"{cell} {m.layers}x{m.hidden} {kind} ({m.implementation} cells)"]
    if getattr(m, "bidirectional", False):
        parts.append("bidirectional")
    if m.dropout:
        parts.append(f"dropout {m.dropout:g} between layers")
    if m.residual:
        parts.append("residual connections")
    if m.name == "rnn":
        parts.append("one output per step" if m.head == "step" else f"{m.pooling} pooling")
    return ", ".join(parts)


def _augment_item(name: str, value: Any, augment: Any) -> str:
    if value is True:
        return name
    if isinstance(value, dict):  # a table of its own (the watermark, issue 18) describes itself
        return f"{name} ({getattr(augment, name).describe()})"
    return f"{name} {value:g}"


def describe_training(cfg: Any, history: History) -> str:
    t = cfg.training
    o = t.optimizer
    opt = (
        f"{o.name} lr {o.lr:g}"
        + (f" momentum {o.momentum:g}" if o.momentum else "")
        + (" nesterov" if o.nesterov else "")
    )
    batch = {
        "batch": "batch GD (whole set per step)",
        "stochastic": "stochastic GD (one example per step)",
    }.get(t.regime, f"mini-batch GD, batch {t.batch_size}")
    snapshots = cfg.ensemble.size > 1 and cfg.ensemble.method == "snapshot"
    if snapshots:  # the ensemble's training replaces schedule and early stopping (ensemble.py)
        cycle = snapshot_cycle_epochs(t.epochs, cfg.ensemble.size)
        parts = [opt, batch, f"{cfg.ensemble.size} cosine cycles of {cycle} epochs, a snapshot after each"]
    else:
        parts = [opt, batch, f"{history.to_dict()['epochs_run']}/{t.epochs} epochs"]
    if t.schedule.name != "none" and not snapshots:
        parts.append(f"{t.schedule.name} lr schedule")
    penalty = WeightPenalty(t.penalty.l1, t.penalty.l2)
    if penalty:
        parts.append(f"penalty: {penalty.describe()}")
    if o.weight_decay:
        parts.append(f"weight decay {describe_weight_decay(o)}")
    if t.clip.norm or t.clip.value:
        parts.append(f"gradient clipping (norm {t.clip.norm}, value {t.clip.value})")
    if t.label_smoothing:
        parts.append(f"label smoothing {t.label_smoothing:g}")
    if t.max_norm is not None:
        parts.append(f"max-norm {t.max_norm:g} on each unit's incoming weights")
    if t.weight_noise:
        parts.append(f"weight noise σ {t.weight_noise:g}")
    augment = {k: v for k, v in t.augment.model_dump().items() if v and k != "clip"}
    if augment:
        parts.append(
            "augmentation: " + ", ".join(_augment_item(k, v, t.augment) for k, v in augment.items())
        )
    if t.early_stopping.patience and not snapshots:
        parts.append(f"early stopping on {t.early_stopping.monitor}, patience {t.early_stopping.patience}")
    if t.early_stopping.restore_best and not snapshots:
        parts.append(f"best epoch by {history.monitor} restored")
    return "; ".join(parts)

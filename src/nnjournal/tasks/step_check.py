"""One training step of the untrained probe model on two examples, before a run directory
exists (`experiment._preflight` calls a task's `check_model`).

The recurrent tasks each call their model in their own way (`model(x, state)` for a language
model, `model(x, lengths, tgt)` for seq2seq, `model(x)` for a forecaster) and read targets of
their own shape, so a model, task and data that do not belong together (a forecaster given a
text, a language model with an `rnn` classifier) failed only at the first step, after the run
directory was made, with a PyTorch traceback. Running that first step on two examples finds
every such pairing at once, whatever it is, and says which pairings work."""

from __future__ import annotations

from typing import Any

import torch

from nnjournal.errors import NNJError

PAIRINGS = (
    "language-model: model 'char-lm' on data 'text'; forecasting: 'forecaster' (or 'rnn', 'mlp') on "
    "'timeseries'; sequence-classification / -tagging / -regression: 'rnn'; seq2seq: 'seq2seq' on 'dates'"
)


class FirstStepCheck:
    """Mixin: `check_model` runs the task's own training step once (no update)."""

    def check_model(self, model: torch.nn.Module, bundle: Any, cfg: Any) -> None:
        batch = bundle.train.take(torch.arange(min(2, len(bundle.train))))
        try:
            with torch.no_grad():
                out = self.training_step(model.train(), batch, None)  # type: ignore[attr-defined]
                float(out.loss)
        except (RuntimeError, TypeError, ValueError, IndexError, AttributeError, KeyError) as err:
            first = (str(err).splitlines() or [type(err).__name__])[0][:200]
            raise NNJError(
                f"model.name = {cfg.model.name!r} does not fit task.name = {cfg.task.name!r} on data.name = "
                f"{cfg.data.name!r} (the first training step fails: {first}); the pairings that work: {PAIRINGS}"
            ) from None


def wrong_data(task: str, needs: str, info: Any) -> NNJError:
    """The error for a task given data of another kind (before any model is built)."""
    return NNJError(f"task.name = {task!r} needs {needs}; this data ({info.name}) is not that: {PAIRINGS}")

"""Character-level language modelling with truncated back-propagation through time.

The step: forward one window of every stream from the state the previous window left,
cross-entropy averaged over the window's tokens, and the final state handed back detached
(the trainer passes it to the next batch; it passes None at the start of an epoch, which
resets the state). Detaching is what makes the BPTT truncated: the gradient of this window's
loss stops at the window's first step, while the state itself still carries the context.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from nnjournal.data.text import StreamSplit
from nnjournal.models.rnn import detach_state
from nnjournal.tasks.base import Direction, StepOutput
from nnjournal.tasks.step_check import FirstStepCheck, wrong_data
from nnjournal.training.predict import evaluation_mode

LN2 = math.log(2.0)


def _state_fits(state: Any, batch_size: int) -> bool:
    if state is None:
        return False
    h = state[0] if isinstance(state, tuple) else state  # (L*D, B, H)
    return h.shape[1] == batch_size


class LanguageModel(FirstStepCheck):
    """Next-character prediction; the model is called as `model(x, state) -> (logits, state)`
    (`models.rnn.CharLM`). Metrics are per character: loss in nats, bits per character,
    perplexity, and how often the most likely character is the right one."""

    name = "language_model"
    # nnj predict refuses it at once, naming the command that does apply it
    predicts = "next-character probabilities at every step (continue a text with `nnj generate RUN --prompt TEXT`)"
    headline = "bits_per_char"
    score_name = "accuracy"
    directions: dict[str, Direction] = {
        "loss": "min",
        "bits_per_char": "min",
        "perplexity": "min",
        "accuracy": "max",
    }
    trainer = "supervised"
    stateful = True  # validation carries the state from window to window, as training does
    data_kind = "text"
    ensemble_outputs = None

    def __init__(self, vocab_size: int, vocab: Any = None, section: Any = None) -> None:
        self.vocab_size = vocab_size
        self.out_features = vocab_size
        self.vocab, self.section = vocab, section  # vocab: saved beside the model (vocab.json)
        self.samples_: dict[str, str] = {}

    @classmethod
    def from_config(cls, section: Any, info: Any, bundle: Any = None) -> LanguageModel:
        if bundle is not None and not isinstance(bundle.train, StreamSplit):
            raise wrong_data("language-model", "a text read as streams (data.name = 'text')", info)
        vocab = bundle.source.vocab if bundle is not None and bundle.source is not None else None
        return cls(info.n_classes, vocab, section)

    @property
    def logged(self) -> list[str]:
        return ["loss", "bits_per_char", "accuracy"]

    @property
    def report_metrics(self) -> list[str]:
        return ["bits_per_char", "loss", "perplexity", "accuracy"]

    # ------------------------------------------------------------ the journal's hooks
    def prepare_data(self, bundle: Any, cfg: Any) -> Any:
        """Refuse, before any file is written, a batch size that is not the number of streams."""
        if cfg.training.batch_size != bundle.train.n_streams:
            from nnjournal.errors import NNJError

            raise NNJError(
                f"training.batch_size = {cfg.training.batch_size} but data.streams = {bundle.train.n_streams}: "
                "with truncated BPTT a batch is one window of every stream; set them equal"
            )
        return bundle

    def baselines(self, bundle: Any, cfg: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        from nnjournal.tasks.recurrent_journal import lm_baselines

        return {}, lm_baselines(bundle)

    def finish(self, result: Any, cfg: Any) -> None:
        from nnjournal.tasks.recurrent_journal import lm_samples

        if self.vocab is not None and self.section is not None:
            self.samples_ = lm_samples(result.model, self.vocab, self.section, cfg.seed, sample_text)

    def summary_extras(self, result: Any) -> dict[str, Any]:
        return {"samples": self.samples_} if self.samples_ else {}

    def plots(self, run_dir: Any, results: dict[str, Any], context: dict[str, Any]) -> list[dict[str, str]]:
        from nnjournal.tasks.recurrent_journal import lm_plots

        return lm_plots(run_dir, results)

    def conclusion(self, summary: dict[str, Any]) -> list[str]:
        from nnjournal.tasks.recurrent_journal import lm_conclusion

        return lm_conclusion(summary)

    def describe_model(self, cfg: Any) -> str | None:
        return None

    def _step(self, model: torch.nn.Module, batch: StreamSplit, state: Any) -> StepOutput:
        if not _state_fits(state, len(batch.x)):
            state = None  # a new epoch, or a split cut into a different number of streams
        logits, new_state = model(batch.x, detach_state(state))  # (B, T, V)
        n_tokens = batch.y.numel()
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), batch.y.reshape(-1))  # per token
        total = loss.detach() * n_tokens
        sums = {
            "loss": total,
            "bits_per_char": total / LN2,
            "accuracy": (logits.detach().argmax(-1) == batch.y).sum(),
        }
        return StepOutput(loss, sums, n_tokens, detach_state(new_state))

    def training_step(self, model: torch.nn.Module, batch: StreamSplit, state: Any = None) -> StepOutput:
        return self._step(model, batch, state)

    @torch.no_grad()
    def evaluation_step(self, model: torch.nn.Module, batch: StreamSplit, state: Any = None) -> StepOutput:
        """As training, without gradients. A trainer that passes the returned state on gets
        the carried-context loss (what `evaluate` reports); one that does not gets each
        window's loss from a zero state, which is higher for short windows."""
        return self._step(model, batch, state)

    @torch.no_grad()
    def evaluate(self, model: torch.nn.Module, split: StreamSplit) -> dict[str, float]:
        """Per-character metrics over the whole split, read in order with the state carried
        from window to window (as the text would be read)."""
        state, loss_sum, right, count = None, 0.0, 0.0, 0
        with evaluation_mode(model) as device:
            for idx in split.batch_indices(split.n_streams, torch.Generator(), device):
                out = self.evaluation_step(model, split.take(idx.to(split.x.device)).to(device), state)
                state = out.state
                loss_sum += float(out.sums["loss"])
                right += float(out.sums["accuracy"])
                count += int(out.count)
        loss = loss_sum / count
        return {
            "loss": loss,
            "bits_per_char": loss / LN2,
            "perplexity": math.exp(loss),
            "accuracy": right / count,
        }


def sample_text(
    model: torch.nn.Module,
    vocab: Any,
    prompt: str,
    length: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    seed: int = 0,
    on_text: Callable[[str], None] | None = None,
) -> str:
    """The prompt continued by `length` characters: what `nnj generate` and the report's
    samples print. The prompt's characters must all be in the vocabulary (refused by name
    otherwise); the same seed gives the same text. `on_text(text)` receives the returned
    text as it is produced: the prompt once it is accepted, then each new character."""
    ids = vocab.encode(prompt, where="the prompt")
    generator = torch.Generator().manual_seed(seed)
    on_id = (lambda i: on_text(vocab.decode([i]))) if on_text is not None else None
    if on_text is not None:
        on_text(prompt)
    out = model.generate(ids, length, temperature=temperature, top_k=top_k, generator=generator, on_id=on_id)
    return vocab.decode(out.cpu())

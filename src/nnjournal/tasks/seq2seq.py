"""Sequence to sequence: the loss of each target token given the true previous ones (or,
with a teacher-forcing ratio below 1, sometimes the model's own), averaged over real target
tokens; exact match of the greedy decoding is the headline, as it is what a user gets."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from nnjournal.data.sequences import Seq2SeqSplit
from nnjournal.tasks.base import Direction, JournalHooks, StepOutput
from nnjournal.tasks.step_check import FirstStepCheck, wrong_data
from nnjournal.training.predict import evaluation_mode, split_chunks


class Seq2SeqTask(FirstStepCheck, JournalHooks):
    """Model: `models.seq2seq.Seq2Seq`. `teacher_forcing` is the probability, per step and
    sequence, of feeding the true previous token while training (evaluation always feeds
    the truth for the loss, and nothing but its own output when decoding)."""

    name = "seq2seq"
    predicts = "a token sequence (a translated date)"  # nnj predict refuses it at once
    headline = "exact_match"
    directions: dict[str, Direction] = {"loss": "min", "accuracy": "max", "exact_match": "max"}
    trainer = "supervised"
    data_kind = "tokens"
    ensemble_outputs = None
    logged = ["loss", "accuracy"]
    report_metrics = ["exact_match", "accuracy", "loss"]
    vocab: Any = None  # TokenVocab, saved beside the model (vocab.json)

    @classmethod
    def from_config(cls, section: Any, info: Any, bundle: Any = None) -> Seq2SeqTask:
        if bundle is not None and not hasattr(bundle.train, "target_lengths"):
            raise wrong_data("seq2seq", "pairs of token sequences (data.name = 'dates')", info)
        task = cls(info.n_classes, teacher_forcing=section.teacher_forcing)
        task.vocab = bundle.source if bundle is not None else None
        return task

    # ------------------------------------------------------------ the journal's hooks
    def plots(self, run_dir: Any, results: dict[str, Any], context: dict[str, Any]) -> list[dict[str, str]]:
        from nnjournal.tasks.recurrent_journal import seq2seq_plots

        return seq2seq_plots(run_dir, results)

    def conclusion(self, summary: dict[str, Any]) -> list[str]:
        from nnjournal.tasks.recurrent_journal import seq2seq_conclusion

        return seq2seq_conclusion(summary)

    def describe_model(self, cfg: Any) -> str | None:
        return None

    def __init__(self, vocab_size: int, pad_id: int = 0, teacher_forcing: float = 1.0,
                 generator: torch.Generator | None = None) -> None:
        if not 0.0 <= teacher_forcing <= 1.0:
            from nnjournal.errors import NNJError

            raise NNJError(f"training.teacher_forcing must be in [0, 1], got {teacher_forcing}")
        self.out_features = vocab_size
        self.pad_id, self.teacher_forcing, self.generator = pad_id, teacher_forcing, generator

    def _step(self, model: torch.nn.Module, batch: Seq2SeqSplit, teacher_forcing: float) -> StepOutput:
        T = int(batch.target_lengths.max())  # columns past the longest target are all padding
        tgt = batch.y[:, :T]
        logits, _ = model(batch.x, batch.lengths, tgt, teacher_forcing, self.generator)  # (B, T-1, V)
        target = tgt[:, 1:]
        real = target != self.pad_id
        n = int(real.sum())
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1), ignore_index=self.pad_id)
        right = ((logits.detach().argmax(-1) == target) & real).sum()
        return StepOutput(loss, {"loss": loss.detach() * n, "accuracy": right}, n)

    def training_step(self, model: torch.nn.Module, batch: Seq2SeqSplit, state: Any = None) -> StepOutput:
        return self._step(model, batch, self.teacher_forcing)

    @torch.no_grad()
    def evaluation_step(self, model: torch.nn.Module, batch: Seq2SeqSplit) -> StepOutput:
        return self._step(model, batch, 1.0)

    @torch.no_grad()
    def evaluate(self, model: torch.nn.Module, split: Seq2SeqSplit, batch_size: int = 512) -> dict[str, float]:
        """Teacher-forced per-token loss and accuracy, and the share of sources whose greedy
        decoding equals the target exactly (every token, <eos> included)."""
        loss_sum, right, count, exact = 0.0, 0.0, 0, 0
        with evaluation_mode(model) as device:
            for b in split_chunks(split, batch_size, device):
                out = self._step(model, b, 1.0)
                loss_sum += float(out.sums["loss"])
                right += float(out.sums["accuracy"])
                count += out.count
                exact += int(exact_matches(model, b).sum())
        return {"loss": loss_sum / count, "accuracy": right / count, "exact_match": exact / len(split)}


def exact_matches(model: torch.nn.Module, batch: Seq2SeqSplit) -> torch.Tensor:
    """(B,) True where the greedy decoding reproduces the target (after <bos>) exactly."""
    T = int(batch.target_lengths.max())
    decoded, _ = model.greedy_decode(batch.x, batch.lengths, max_len=T - 1)
    target = batch.y[:, 1:T]
    width = target.shape[1]
    if decoded.shape[1] < width:  # decoding stopped early: every sequence ended
        decoded = F.pad(decoded, (0, width - decoded.shape[1]), value=model.pad_id)
    return (decoded[:, :width] == target).all(1)

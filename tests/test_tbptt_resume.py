"""Truncated BPTT through `fit`: validation carries the state window by window (equal to the
task's own in-order evaluation), and a run killed mid-epoch resumes from its last checkpoint
to exactly the weights of an uninterrupted run (the carried state restarts with each epoch,
so replaying the killed epoch from its start is the same computation)."""

from __future__ import annotations

import pytest
import torch

from nnjournal.config import TrainingConfig
from nnjournal.data.text import char_text, read_text
from nnjournal.models.rnn import CharLM
from nnjournal.tasks.language_model import LanguageModel
from nnjournal.training.callbacks import Callback
from nnjournal.training.fit import evaluate_split, fit
from tests.conftest import require_data

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def text():
    raw = read_text(require_data("text/tinyshakespeare.txt"), max_chars=60_000)
    return char_text(raw, n_streams=8, bptt=32, val_fraction=0.1, test_fraction=0.1, eval_streams=4)


def _model(V: int) -> CharLM:
    torch.manual_seed(0)
    return CharLM(V, embedding_dim=16, hidden_size=48)


CFG = dict(epochs=4, batch_size=8, checkpoint_every_s=0, clip={"norm": 1.0}, optimizer={"lr": 0.01},
           early_stopping={"restore_best": False})


class _Killed(Exception):
    pass


class KillAt(Callback):
    """Raises at one optimizer step, like a SIGKILL in the middle of an epoch."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_batch_end(self, step: int, model: torch.nn.Module, loss: torch.Tensor) -> None:
        if step == self.step:
            raise _Killed


def test_validation_through_fit_carries_the_state_like_the_task(text):
    task = LanguageModel(len(text.vocab))
    model = _model(len(text.vocab))
    fit(model, text.train, text.val, task=task, config=TrainingConfig(**{**CFG, "epochs": 1}), seed=0)
    through_fit = evaluate_split(model, task, text.val)["loss"]
    assert through_fit == pytest.approx(task.evaluate(model, text.val)["loss"], rel=1e-6)


def test_a_tbptt_run_killed_mid_epoch_resumes_to_the_same_weights(text, tmp_path):
    V = len(text.vocab)
    cfg = TrainingConfig(**CFG)
    per_epoch = text.train.n_windows
    assert per_epoch > 10
    full = _model(V)
    h_full = fit(full, text.train, text.val, task=LanguageModel(V), config=cfg, seed=1)

    killed = _model(V)
    with pytest.raises(_Killed):  # in the middle of the third epoch
        fit(killed, text.train, text.val, task=LanguageModel(V), config=cfg, seed=1,
            checkpoint=tmp_path / "ckpt", callbacks=[KillAt(2 * per_epoch + per_epoch // 2)])
    resumed = _model(V)
    torch.manual_seed(123)  # the resumed process starts from another random state
    h = fit(resumed, text.train, text.val, task=LanguageModel(V), config=cfg, seed=1,
            checkpoint=tmp_path / "ckpt", resume=True)
    assert [r["epoch"] for r in h.records] == [1, 2, 3, 4]
    for (name, a), b in zip(full.state_dict().items(), resumed.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    assert h.records[-1]["val_loss"] == h_full.records[-1]["val_loss"]

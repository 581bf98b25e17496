"""The GAN recipes through `nnj run`'s path (experiment -> task -> TRAINERS["adversarial"] ->
journal), their quick profiles, `nnj sample`, and kill-and-resume through the registered trainer.

Quick profile = the overrides below: each runs in under 60 s of CPU and checks what a broken
GAN misses (the evaluation classifier recognises the samples above chance; the collapse recipe
is flagged). Full profiles and their numbers: benchmarks/gans.py and docs/benchmarks.md."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import require_data
from helpers import nnj

import nnjournal as nnj_lib
from nnjournal import models, recipes
from nnjournal.data import load as load_data
from nnjournal.errors import NNJError
from nnjournal.tasks import build_task
from nnjournal.training.callbacks import Callback
from nnjournal.training.checkpoint import has_checkpoint, load_checkpoint
from nnjournal.training.interrupt import TrainingInterrupted
from nnjournal.training.trainers import TRAINERS, train_one

# The quick profiles sample from G itself: over a few hundred steps a 0.999 moving average is
# still mostly the initial weights (0.999^400 = 0.67), and its samples are noise.
# One thread, named: the thresholds were measured so, and a plain `pytest` (no xdist) would
# otherwise train with two and draw other numbers.
QUICK = {
    "gan-mnist": [
        "training.threads=1",
        "data.max_train=3000", "training.epochs=5", "training.batch_size=32", "model.ema=false",
        "task.samples=1000",
        # 470 steps: faster steps, no smoothing (IS 2.41, coverage 0.7 vs 1.77 and 0.4 at the recipe's)
        "training.adversarial.lr_d=5e-4", "training.adversarial.lr_g=5e-4", "training.adversarial.label_smoothing=0",
    ],
    "dcgan-mnist": [
        "training.threads=1", "data.max_train=2000", "training.epochs=6", "training.batch_size=32", "model.width=16",
        "model.ema=false", "task.samples=1000",
    ],
    "cgan-mnist": [
        "training.threads=1", "data.max_train=3000", "training.epochs=5", "training.batch_size=32", "model.ema=false",
        "task.samples=1000",
    ],
    "gan-collapse": ["training.threads=1", "task.samples=1000"],
}


def run_quick(name: str, tmp_path: Path):
    require_data("mnist")
    cfg = recipes.load(name, QUICK[name])
    start, cpu_start = time.perf_counter(), time.process_time()
    result = nnj_lib.run(cfg, out=tmp_path)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    assert (result.run_dir / "report.md").exists()
    # Under load the wall time stretches; a compute-bound run alone takes at most its CPU time.
    assert min(elapsed, cpu) < 60, f"{name} quick profile took {elapsed:.0f} s wall ({cpu:.0f} s of CPU)"
    shown = {k: round(v, 3) for k, v in _test(result).items() if not k.startswith("class_share")}
    print(f"{name}: {elapsed:.1f} s wall, {cpu:.1f} s CPU, test {shown}")
    return result


def _test(result) -> dict[str, float]:
    return next(iter(result.summary["variants"].values()))["test"]


def untrained(result) -> dict[str, float]:
    """The same generator as built, before any step, judged by the same task."""
    v = next(iter(result.variants.values()))
    torch.manual_seed(v.config.seed)
    return v.task.evaluate(models.build(v.config.model, v.bundle.info, 1), v.bundle.test)


def recognised(t: dict[str, float], before: dict[str, float]) -> bool:
    """Above chance for the evaluation classifier: clearer classes, more of them, and much nearer
    the real features than the untrained generator (IS about 1.0-1.4, one or two classes).
    An untrained generator, or one that never steps, fails this."""
    return (
        t["inception_score"] > 1.5 * before["inception_score"]
        and t["coverage"] >= 0.4
        and t["frechet_distance"] < 0.6 * before["frechet_distance"]
    )


@pytest.fixture(scope="module")
def gan_run(tmp_path_factory):
    return run_quick("gan-mnist", tmp_path_factory.mktemp("gan"))


def test_every_gan_recipe_has_a_quick_profile():
    assert set(QUICK) <= set(recipes.names())


def test_gan_mnist_quick_is_recognised_and_reported(gan_run):
    s = gan_run.summary
    t, real, before = _test(gan_run), s["baselines"]["real test images"], untrained(gan_run)
    assert recognised(t, before), (t, before)
    assert not recognised(before, before)
    assert t["frechet_distance"] > real["frechet_distance"]  # not better than real images
    assert s["headline"]["metric"] == "frechet_distance" and s["task"] == "gan"
    report = (gan_run.run_dir / "report.md").read_text()
    assert "(real test images:" in report and "mode collapse" in report
    files = {p["file"] for p in s["plots"]}
    for kind in ("samples", "game", "classes", "interpolation"):
        assert any(f.endswith(f"_{kind}.png") for f in files), files
    assert all((gan_run.run_dir / f).exists() for f in files)
    assert "adversarial: Adam lr D" in next(iter(s["variants"].values()))["training"]
    assert not list(gan_run.run_dir.glob("*.ckpt.safetensors"))  # a finished run keeps no checkpoint


def test_dcgan_mnist_quick_is_recognised(tmp_path):
    result = run_quick("dcgan-mnist", tmp_path)
    t = _test(result)
    assert recognised(t, untrained(result)), t
    assert t["inception_score"] > 3.0 and t["coverage"] >= 0.8, t  # measured 3.87 and 1.0


def test_cgan_mnist_quick_obeys_labels(tmp_path):
    result = run_quick("cgan-mnist", tmp_path)
    t = _test(result)
    assert t["conditional_accuracy"] > 0.5, t  # chance: 0.1; measured 0.74
    before = untrained(result)
    assert before["conditional_accuracy"] < 0.2
    assert recognised(t, before), (t, before)
    assert "draws the asked-for class" in (result.run_dir / "report.md").read_text()


def test_gan_collapse_is_flagged(tmp_path):
    result = run_quick("gan-collapse", tmp_path)
    t = _test(result)
    assert t["coverage"] <= 0.3 and t["class_kl"] > 1.0, t
    conclusion = " ".join(result.summary["conclusion"])
    assert "has collapsed (mode collapse)" in conclusion


def test_a_real_recipe_refuses_supervised_options_for_a_gan(tmp_path):
    require_data("mnist")
    cfg = recipes.load("gan-collapse", ["training.optimizer.lr=0.1", "training.epochs=1"])
    with pytest.raises(NNJError, match="training.optimizer is a supervised-training option"):
        nnj_lib.run(cfg, out=tmp_path)


# ---------------------------------------------------------------- nnj sample
def test_nnj_sample_is_deterministic_in_a_fresh_process(gan_run, tmp_path):
    a, b, c = tmp_path / "a.npy", tmp_path / "b.npy", tmp_path / "c.npy"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for out, seed in ((a, 3), (b, 3), (c, 4)):
        proc = subprocess.run(
            [sys.executable, "-m", "nnjournal", "sample", str(gan_run.run_dir), "--n", "16", "--seed", str(seed),
             "--out", str(out)],
            capture_output=True, text=True, env=env, timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
    x = np.load(a, allow_pickle=False)
    assert x.shape == (16, 1, 28, 28) and x.dtype == np.float32 and x.min() >= 0 and x.max() <= 1
    assert np.array_equal(x, np.load(b, allow_pickle=False))
    assert not np.array_equal(x, np.load(c, allow_pickle=False))
    png = tmp_path / "grid.png"
    assert nnj("sample", str(gan_run.run_dir), "--n", "64", "--seed", "3", "--out", str(png)).exit_code == 0
    assert png.read_bytes()[:4] == b"\x89PNG"


def _one_error_line(result) -> str:
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_nnj_sample_bad_input_is_one_line_and_exit_2(gan_run, tmp_path):
    run = str(gan_run.run_dir)
    out = str(tmp_path / "x.png")
    assert "takes no label" in _one_error_line(nnj("sample", run, "--label", "7", "--out", out))
    assert "must be positive" in _one_error_line(nnj("sample", run, "--n", "0", "--out", out))
    assert "must be positive" in _one_error_line(nnj("sample", run, "--n", "-3", "--out", out))
    assert "unknown extension" in _one_error_line(nnj("sample", run, "--out", str(tmp_path / "x.jpg")))
    assert "not a finished run" in _one_error_line(nnj("sample", str(tmp_path), "--out", out))
    assert not (tmp_path / "x.png").exists()


def test_nnj_sample_labels_on_a_conditional_gan_and_refuses_other_models(tmp_path):
    require_data("mnist")
    cfg = recipes.load("cgan-mnist", ["data.max_train=200", "training.epochs=1", "task.samples=100"])
    run = str(nnj_lib.run(cfg, out=tmp_path / "c").run_dir)
    assert "label 10 is out of range" in _one_error_line(
        nnj("sample", run, "--label", "10", "--out", str(tmp_path / "x.png"))
    )
    out = tmp_path / "sevens.npy"
    assert nnj("sample", run, "--label", "7", "--n", "5", "--out", str(out)).exit_code == 0
    assert np.load(out, allow_pickle=False).shape == (5, 1, 28, 28)
    xor = nnj_lib.run("xor", ["training.epochs=2"], out=tmp_path / "x").run_dir
    assert "not a GAN" in _one_error_line(nnj("sample", str(xor), "--out", str(tmp_path / "x.png")))


# ---------------------------------------------------------------- kill and resume
class Kill(Callback):
    """Stops the process's training after `epoch` epochs: by raising (a kill: this epoch's
    checkpoint is never written) or by sending SIGINT (Ctrl-C: saved, then exit 130)."""

    def __init__(self, epoch: int | None, how: str) -> None:
        self.epoch, self.how = epoch, how

    def on_epoch_end(self, epoch, record, model) -> None:
        if self.epoch is not None and epoch + 1 == self.epoch:
            if self.how == "sigint":
                os.kill(os.getpid(), signal.SIGINT)
            else:
                raise KeyboardInterrupt  # nothing after this line of the epoch runs


def _setup():
    require_data("mnist")
    cfg = recipes.load(
        "cgan-mnist",
        ["data.max_train=160", "training.epochs=4", "training.batch_size=32", "model.hidden=[32, 64]",
         "model.ema=true", "training.adversarial.n_critic=2", "training.adversarial.label_smoothing=0.1",
         "training.checkpoint_every_s=0", "task.snapshots=0"],
    )
    bundle = load_data(cfg.data, seed=cfg.seed, task="classification")
    task = build_task(cfg.task, bundle.info, bundle)
    return cfg, task.prepare_data(bundle, cfg), task


@pytest.mark.parametrize("how", ["kill", "sigint"])
def test_kill_and_resume_through_the_registered_trainer_is_bit_identical(tmp_path, how):
    cfg, bundle, task = _setup()
    assert task.trainer == "adversarial" and TRAINERS[task.trainer].__name__ == "train_adversarial"
    whole, whole_history = train_one(cfg, bundle, task)
    ckpt = tmp_path / "checkpoint"
    if how == "sigint":
        with pytest.raises(TrainingInterrupted) as err:
            train_one(cfg, bundle, task, checkpoint=ckpt, callbacks=[Kill(2, how)])
        assert err.value.exit_code == 130
        done = 2  # Ctrl-C saves the epoch it stops at
    else:
        with pytest.raises(KeyboardInterrupt):
            train_one(cfg, bundle, task, checkpoint=ckpt, callbacks=[Kill(3, how)])
        done = 2  # epoch 3's work is lost with the process
    assert has_checkpoint(ckpt) and len(load_checkpoint(ckpt)["history"]["records"]) == done
    # Resume with a different seed for the fresh model's initialisation: all must come from the file.
    torch.manual_seed(99)
    resumed, history = train_one(cfg, bundle, task, checkpoint=ckpt, resume=True)
    for key, value in whole.generator.state_dict().items():
        assert torch.equal(value, resumed.generator.state_dict()[key]), key
    for key, value in whole.state_dict().items():  # D, the EMA and the batch-norm buffers too
        assert torch.equal(value, resumed.state_dict()[key]), key
    strip = [{k: v for k, v in r.items() if k != "time_s"} for r in whole_history.records]
    assert [{k: v for k, v in r.items() if k != "time_s"} for r in history.records] == strip


def test_a_non_finite_loss_stops_the_adversarial_trainer_with_a_diagnosis(tmp_path):
    cfg, bundle, task = _setup()
    class Poison(Callback):
        def on_batch_end(self, step, model, loss) -> None:
            if step == 3:
                with torch.no_grad():
                    model.discriminator.first.weight.fill_(float("nan"))

    from nnjournal.training.guard import NonFiniteError

    with pytest.raises(NonFiniteError, match="training diverged: the loss became nan at epoch 1, batch 4"):
        train_one(cfg, bundle, task, callbacks=[Poison()])


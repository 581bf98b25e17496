"""The GAN task end to end on real MNIST (without the experiment, which is wired later): a
quick conditional GAN obeys its labels, the task's numbers, ceiling and conclusion, and every
GAN figure has a title and labelled axes."""

from __future__ import annotations

from types import SimpleNamespace

import matplotlib.pyplot as plt
import pytest
import torch
from gan_data import mnist

from nnjournal.data.bundle import DataInfo, Split
from nnjournal.errors import NNJError
from nnjournal.journal import gan_plots
from nnjournal.models.gan import build_gan
from nnjournal.tasks.base import direction
from nnjournal.tasks.gan import REAL, GANTask
from nnjournal.training.adversarial import fit_adversarial


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return mnist(tmp_path_factory)


@pytest.fixture(scope="module")
def task(tmp_path_factory, bundle):
    task = GANTask(bundle.info, samples=1000)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NNJ_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))
        task.prepare_data(bundle)
    return task


@pytest.fixture(scope="module")
def quick_cgan(bundle):
    """An MLP conditional GAN on 3,000 images for 5 epochs of batch 32 (470 steps)."""
    train = Split(bundle.train.x[:3000], bundle.train.y[:3000])
    torch.manual_seed(0)
    gan = build_gan("cgan", n_classes=10)
    snaps = gan_plots.SampleSnapshots(gan, epochs=gan_plots.snapshot_epochs(5, 3), n=16)
    history = fit_adversarial(gan, train, epochs=5, batch_size=32, seed=0, device="cpu", on_epoch_end=[snaps])
    return gan, history, snaps


def test_quick_cgan_draws_the_asked_for_class(task, bundle, quick_cgan):
    gan, _, _ = quick_cgan
    m = task.evaluate(gan, bundle.test)
    torch.manual_seed(0)
    untrained = task.evaluate(build_gan("cgan", n_classes=10), bundle.test)
    assert untrained["conditional_accuracy"] < 0.2  # chance is 0.1
    assert m["conditional_accuracy"] > 0.3, m
    assert m["inception_score"] > 2.0 and m["frechet_distance"] < 0.6 * untrained["frechet_distance"]


def test_task_numbers_ceiling_and_conclusion(task, bundle, quick_cgan):
    gan, _, _ = quick_cgan
    assert task.trainer == "adversarial"
    assert direction(task, "test_frechet_distance") == "min" and direction(task, "coverage") == "max"
    _, baselines = task.baselines(bundle)
    real = baselines[REAL]
    test = task.evaluate(gan, bundle.test)
    assert set(test) == set(real)  # the same numbers for the ceiling
    assert task.evaluate(gan, bundle.test) == test  # seeded
    summary = {"variants": {"cgan": {"test": test}}, "baselines": baselines}
    lines = task.conclusion(summary)
    assert any(f"(real test images: {real['frechet_distance']:.1f})" in line for line in lines)
    assert any("draws the asked-for class" in line for line in lines)

    # The verdict follows the numbers: a generator whose images are all one class has collapsed.
    def verdict(numbers: dict[str, float]) -> str:
        return " ".join(task.conclusion({"variants": {"gan": {"test": numbers}}}))

    plain = {k: v for k, v in test.items() if k != "conditional_accuracy"}
    assert "gan has collapsed (mode collapse): coverage 0.10" in verdict(
        dict(plain, coverage=0.1, class_kl=2.3)
    )
    assert "gan shows no mode collapse" in verdict(dict(plain, coverage=1.0, class_kl=0.01))
    assert "does not draw every class it is asked for" in verdict(dict(test, coverage=0.8, class_kl=0.4))


def test_a_starved_discriminator_makes_the_generator_collapse_and_the_report_says_so(task, bundle):
    # With D almost frozen (lr 1e-6), G only has to find the one image D likes best and make it
    # from every z: D(G(z)) ends above D(x), and coverage, class KL and diversity all show it.
    torch.manual_seed(0)
    gan = build_gan("vanilla")
    train = Split(bundle.train.x[:2000], bundle.train.y[:2000])
    history = fit_adversarial(gan, train, epochs=3, batch_size=64, seed=0, lr_d=1e-6, device="cpu")
    assert history.records[-1]["d_fake"] > history.records[-1]["d_real"]
    test, real = task.evaluate(gan, bundle.test), task.baselines(bundle)[1][REAL]
    assert test["coverage"] <= 0.2 and test["class_kl"] > 1.5
    assert test["diversity"] < 0.3 * real["diversity"]
    text = " ".join(task.conclusion({"variants": {"starved": {"test": test}}, "baselines": {REAL: real}}))
    assert "starved has collapsed (mode collapse)" in text and "images vary" in text


def test_gan_figures_have_titles_and_axis_labels(task, bundle, quick_cgan, tmp_path):
    gan, history, snaps = quick_cgan
    assert sorted(snaps.images) == [1, 3, 5]
    test = task.evaluate(gan, bundle.test)
    real = task.baselines(bundle)[1][REAL]
    figures = [
        gan_plots.samples_over_epochs_figure(snaps.images),
        gan_plots.adversarial_curves_figure(history.records),
        gan_plots.class_histogram_figure(test, real, bundle.info.class_names),
        gan_plots.latent_interpolation_figure(gan),
    ]
    for fig in figures:
        for ax in fig.axes:
            assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
        plt.close(fig)
    # What experiment.py hands the hook: each variant's result (its task holds the snapshots).
    result = SimpleNamespace(
        model=gan, history=history, metrics={"test": test}, task=SimpleNamespace(sample_snapshots=snaps)
    )
    written = task.plots(tmp_path, {"cgan": result}, {})
    assert len(written) == 4
    assert all((tmp_path / f["file"]).read_bytes()[:4] == b"\x89PNG" for f in written)


def test_snapshots_survive_a_resume_when_given_a_folder(tmp_path):
    gan = build_gan("vanilla", hidden=(16,))
    snaps = gan_plots.SampleSnapshots(gan, epochs=[1, 2], n=4, folder=tmp_path)
    snaps(0, {})
    again = gan_plots.SampleSnapshots(gan, epochs=[1, 2], n=4, folder=tmp_path)
    assert list(again.images) == [1] and again.images[1].shape == (4, 1, 28, 28)


def test_the_task_needs_labelled_images():
    with pytest.raises(NNJError, match="needs labelled images"):
        GANTask(DataInfo("table", (5,)))

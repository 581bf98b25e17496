"""GAN models and the adversarial trainer: sampling, a quick DCGAN on real MNIST that the
evaluation classifier recognises (an untrained or broken one does not), the step's order, and
kill-and-resume giving bit-identical weights."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from gan_data import evaluator, mnist

from nnjournal.data.bundle import Split
from nnjournal.errors import NNJError
from nnjournal.models.gan import KINDS, build_gan
from nnjournal.training.adversarial import LOGGED, adversarial_step, fit_adversarial, make_players
from nnjournal.training.checkpoint import checkpoint_file, load_checkpoint


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return mnist(tmp_path_factory)


@pytest.fixture(scope="module")
def ev(tmp_path_factory, bundle):
    return evaluator(tmp_path_factory, bundle)


def recognised(m: dict[str, float], untrained: dict[str, float]) -> bool:
    """The classifier sees digits: confident, varied classes, and much nearer the real features."""
    return (
        m["inception_score"] > 2.5
        and m["coverage"] >= 0.5
        and m["frechet_distance"] < 0.5 * untrained["frechet_distance"]
    )


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_samples_images_in_unit_range_deterministically(kind):
    torch.manual_seed(0)
    gan = build_gan(kind, n_classes=10, width=8, hidden=(32, 64), ema=True)
    a = gan.sample(6, generator=torch.Generator().manual_seed(1))
    assert a.shape == (6, 1, 28, 28) and a.min() >= 0 and a.max() <= 1
    assert torch.equal(a, gan.sample(6, generator=torch.Generator().manual_seed(1)))
    assert not torch.equal(a, gan.sample(6, generator=torch.Generator().manual_seed(2)))
    assert gan.discriminate(
        gan(gan.noise(6), gan.check_labels(6, None)), gan.check_labels(6, None)
    ).shape == (6,)
    rebuilt = build_gan(**gan.config)  # the config rebuilds the same architecture
    rebuilt.load_state_dict(gan.state_dict())
    assert torch.equal(rebuilt.sample(6, generator=torch.Generator().manual_seed(1)), a)


def test_bad_sampling_requests_are_user_errors():
    plain, cond = build_gan("vanilla", hidden=(16,)), build_gan("cgan", n_classes=10, hidden=(16,))
    with pytest.raises(NNJError, match="unconditional, so it takes no label"):
        plain.sample(4, labels=3)
    with pytest.raises(NNJError, match=r"label 10 is out of range: this GAN knows classes 0\.\.9"):
        cond.sample(4, labels=10)
    with pytest.raises(NNJError, match="must be positive"):
        cond.sample(0)
    with pytest.raises(NNJError, match="needs labelled data"):
        build_gan("cdcgan")
    with pytest.raises(NNJError, match="divisible by 4"):
        build_gan("dcgan", image_shape=(1, 30, 30))
    assert cond.check_labels(12, None).tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]
    assert cond.check_labels(3, 7).tolist() == [7, 7, 7]


def test_the_discriminator_step_leaves_the_generator_alone():
    torch.manual_seed(0)
    gan = build_gan("dcgan", width=8, ema=True)
    players = make_players(gan, ema_decay=0.5)
    real = torch.rand(16, 1, 28, 28) * 2 - 1
    z = torch.randn(16, gan.latent)
    g0 = [p.clone() for p in gan.generator.parameters()]
    d0 = [p.clone() for p in gan.discriminator.parameters()]
    out = adversarial_step(gan, players, real, None, z, update_generator=False)
    assert set(out) == {"d_loss", "minimax_value", "d_real", "d_fake"}
    assert all(torch.equal(a, b) for a, b in zip(g0, gan.generator.parameters(), strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(d0, gan.discriminator.parameters(), strict=True))
    out = adversarial_step(gan, players, real, None, z)
    assert "g_loss" in out
    g1 = list(gan.generator.parameters())
    assert not all(torch.equal(a, b) for a, b in zip(g0, g1, strict=True))
    # EMA with decay 0.5 sits halfway between the old and the new generator weights.
    ema = list(gan.generator_ema.parameters())
    assert torch.allclose(ema[0], (g0[0] + g1[0]) / 2)


def test_quick_dcgan_is_recognised_by_the_evaluation_classifier(bundle, ev):
    train = Split(bundle.train.x[:2000], bundle.train.y[:2000])
    torch.manual_seed(0)
    gan = build_gan("dcgan", width=16)
    untrained = ev.generated_metrics(gan, 1000, seed=0)
    history = fit_adversarial(gan, train, epochs=6, batch_size=32, seed=0, device="cpu")
    m = ev.generated_metrics(gan, 1000, seed=0)
    assert recognised(m, untrained), (m, untrained)
    assert not recognised(untrained, untrained)
    assert [r["epoch"] for r in history.records] == list(range(1, 7))
    last = history.records[-1]
    assert set(LOGGED) <= set(last)
    assert 0 < last["d_fake"] < last["d_real"] < 1  # D tells them apart, but is not all-knowing
    assert last["minimax_value"] == pytest.approx(-last["d_loss"])  # no smoothing: D's loss is -V


def test_a_generator_that_never_steps_is_not_recognised(bundle, ev):
    # A broken trainer (here: more critic steps than batches, so G never updates) must fail the
    # same check the quick DCGAN passes.
    train = Split(bundle.train.x[:1000], bundle.train.y[:1000])
    torch.manual_seed(0)
    gan = build_gan("dcgan", width=16)
    untrained = ev.generated_metrics(gan, 1000, seed=0)
    history = fit_adversarial(gan, train, epochs=2, batch_size=32, seed=0, n_critic=100, device="cpu")
    assert all(r["g_loss"] != r["g_loss"] for r in history.records)  # NaN: no generator step ran
    assert not recognised(ev.generated_metrics(gan, 1000, seed=0), untrained)


class Stop(Exception):
    pass


def _run(
    train: Split, checkpoint: Path | None, *, init_seed: int, stop_after: int | None = None, resume=False
):
    torch.manual_seed(init_seed)
    gan = build_gan("cdcgan", n_classes=10, width=8, ema=True)

    def stop(epoch: int, record: dict) -> None:
        if stop_after is not None and epoch + 1 == stop_after:
            raise Stop  # as if the process were killed after this epoch's work

    history = fit_adversarial(
        gan,
        train,
        epochs=4,
        batch_size=32,
        seed=5,
        n_critic=2,
        label_smoothing=0.1,
        ema_decay=0.9,
        device="cpu",
        checkpoint=checkpoint,
        resume=resume,
        checkpoint_every_s=0.0,  # every epoch, whatever it costs
        on_epoch_end=[stop],
    )
    return gan, history


def test_kill_and_resume_gives_bit_identical_weights(bundle, tmp_path):
    train = Split(bundle.train.x[:192], bundle.train.y[:192])
    whole, whole_history = _run(train, None, init_seed=0)
    ckpt = tmp_path / "run"
    with pytest.raises(Stop):
        _run(train, ckpt, init_seed=0, stop_after=3)  # epochs 1-2 checkpointed, 3 lost
    assert len(load_checkpoint(ckpt)["history"]["records"]) == 2
    # Resume into a differently initialised model: everything must come from the checkpoint.
    resumed, history = _run(train, ckpt, init_seed=123, resume=True)
    for key, value in whole.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[key]), key
    strip = [{k: v for k, v in r.items() if k != "time_s"} for r in whole_history.records]
    assert [{k: v for k, v in r.items() if k != "time_s"} for r in history.records] == strip
    assert list(tmp_path.iterdir()) == [checkpoint_file(ckpt)]  # one file, no temp files or JSON beside it


def test_damaged_or_foreign_checkpoints_are_user_errors(bundle, tmp_path):
    train = Split(bundle.train.x[:64], bundle.train.y[:64])
    ckpt = tmp_path / "run"
    gan = build_gan("vanilla", hidden=(16,))
    fit_adversarial(gan, train, epochs=1, batch_size=32, device="cpu", checkpoint=ckpt)
    state = load_checkpoint(ckpt)
    assert set(state["optimizers"]) == {"d", "g"} and "torch" in state["rng"]
    other = build_gan("vanilla", hidden=(32,))
    with pytest.raises(NNJError, match="does not fit this model"):
        fit_adversarial(other, train, epochs=2, batch_size=32, device="cpu", checkpoint=ckpt, resume=True)
    checkpoint_file(ckpt).write_bytes(checkpoint_file(ckpt).read_bytes()[:100])
    with pytest.raises(NNJError, match="cannot read checkpoint"):
        fit_adversarial(gan, train, epochs=2, batch_size=32, device="cpu", checkpoint=ckpt, resume=True)
    with pytest.raises(NNJError, match="uint8 images"):
        fit_adversarial(gan, Split(train.x.float(), train.y), epochs=1, device="cpu")

"""The generative metrics on real MNIST images, noise and collapsed generators."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg
import torch
from gan_data import evaluator, mnist

from nnjournal.data.bundle import Split
from nnjournal.data.paths import cache_dir
from nnjournal.errors import NNJError
from nnjournal.evaluation.generative import (
    ClassifierSettings,
    collapse_verdict,
    coverage_and_kl,
    evaluation_classifier,
    frechet_distance,
    inception_score,
)
from nnjournal.models.gan import build_gan


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return mnist(tmp_path_factory)


@pytest.fixture(scope="module")
def ev(tmp_path_factory, bundle):
    return evaluator(tmp_path_factory, bundle)


@pytest.fixture(scope="module")
def real(ev, bundle):
    return ev.real_metrics(bundle.test)


def test_real_test_images_are_the_ceiling(real):
    # The 2,000 real test images against the 8,000 training images: a small distance (finite
    # samples keep it above 0), IS near the 10 classes, every class, a balanced histogram.
    assert real["frechet_distance"] < 5.0
    assert real["inception_score"] > 8.5
    assert real["coverage"] == 1.0
    assert real["class_kl"] < 0.02
    assert real["conditional_accuracy"] > 0.95  # the classifier's own test accuracy
    assert not collapse_verdict(real, real)[0]


def test_noise_is_far_from_real_and_flagged(ev, real):
    noise = torch.rand(2000, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    m = ev.metrics(noise)
    assert m["frechet_distance"] > 100 * max(real["frechet_distance"], 1.0)
    assert m["inception_score"] < 2.0
    assert collapse_verdict(m)[0]


def test_a_constant_generator_is_flagged_as_collapsed(ev, bundle):
    # A real GAN whose generator ignores z: the last layer's weights are 0 and its bias is one
    # training image (in tanh units), so every sample is that image.
    gan = build_gan("vanilla", hidden=(32,))
    last = gan.generator.net[-2]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.copy_(torch.atanh((bundle.train.x[0].flatten().float() / 255 * 2 - 1).clamp(-0.999, 0.999)))
    m = ev.generated_metrics(gan, 1000, seed=0)
    assert m["coverage"] == pytest.approx(0.1)
    assert m["class_kl"] == pytest.approx(math.log(10), abs=1e-6)
    assert m["inception_score"] == pytest.approx(1.0, abs=1e-3)
    assert m["nearest_train_distance"] < 0.1  # it is a copy of a training image
    assert m["diversity"] == 0.0  # every image the same
    collapsed, why = collapse_verdict(m)
    assert collapsed and "coverage 0.10" in why


def test_a_conditional_generator_that_ignores_z_is_flagged(ev, real):
    # One image per label: the histogram alone cannot see this collapse, the diversity can.
    torch.manual_seed(0)
    gan = build_gan("cgan", n_classes=10, hidden=(32,))
    with torch.no_grad():
        gan.generator.net[0].weight[:, : gan.latent] = 0  # the first layer no longer reads z
    m = ev.generated_metrics(gan, 1000, seed=0)  # balanced labels: image i and i + 500 share one
    assert m["diversity"] == 0.0
    collapsed, why = collapse_verdict(m, real)
    assert collapsed and "images vary 0.00 times as much as real ones" in why
    assert real["diversity"] > 5.0


def test_dropping_half_of_the_classes_is_flagged(ev, bundle):
    keep = bundle.test.y < 5
    m = ev.metrics(bundle.test.x[keep])
    assert m["coverage"] == 0.5
    assert 0.5 < m["class_kl"] <= math.log(2) + 0.01  # log 2 if the five kept classes were equal in size
    assert collapse_verdict(m)[0]


def test_metrics_are_deterministic_for_a_seed(ev, tmp_path_factory, bundle):
    torch.manual_seed(1)
    gan = build_gan("dcgan", width=8)
    a = ev.generated_metrics(gan, 500, seed=3)
    assert ev.generated_metrics(gan, 500, seed=3) == a
    assert ev.generated_metrics(gan, 500, seed=4)["frechet_distance"] != a["frechet_distance"]
    # A second evaluator (the classifier read back from the cache) gives the same numbers.
    assert evaluator(tmp_path_factory, bundle).generated_metrics(gan, 500, seed=3) == a


def test_classifier_is_cached_as_safetensors_and_rebuilt_when_damaged(ev, bundle):
    # The cache may also hold other test files' classifiers (other data or settings): find ours.
    from safetensors.torch import load_file

    files = sorted((cache_dir() / "eval_classifiers").glob("mnist-*.safetensors"))
    ours = [
        f
        for f in files
        if all(
            torch.equal(v, ev.classifier.state_dict()[k])
            for k, v in load_file(f).items()
            if k in ev.classifier.state_dict()
        )
        and set(load_file(f)) >= set(ev.classifier.state_dict())
    ]
    assert len(ours) == 1
    assert ours[0].read_bytes()[8:9] == b"{"  # a safetensors JSON header, not a pickle
    ours[0].write_bytes(b"damaged")
    rng = torch.get_rng_state()
    model = evaluation_classifier(bundle.train, 10, name="mnist")
    assert torch.equal(torch.get_rng_state(), rng)  # seeded on its own, the caller's RNG untouched
    for k, v in model.state_dict().items():
        assert torch.equal(v, ev.classifier.state_dict()[k])  # retrained, seeded: the same weights
    # Other data or settings get their own entry.
    evaluation_classifier(
        Split(bundle.train.x[:200], bundle.train.y[:200]), 10, ClassifierSettings(epochs=1), "mnist"
    )
    assert len(list((cache_dir() / "eval_classifiers").glob("mnist-*.safetensors"))) == len(files) + 1


def test_frechet_distance_matches_the_sqrtm_formula():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(400, 6)), rng.normal(size=(300, 6)) @ rng.normal(size=(6, 6)) + 1.0
    mu1, s1, mu2, s2 = a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False)
    ref = ((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * scipy.linalg.sqrtm(s1 @ s2).real)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(ref, rel=1e-8)
    assert frechet_distance(mu1, s1, mu1, s1) == pytest.approx(0.0, abs=1e-9)
    # Singular covariances (ReLU features that are always 0) stay finite and symmetric.
    s1[:, 0] = s1[0, :] = 0
    d = frechet_distance(mu1, s1, mu2, s2)
    assert np.isfinite(d) and d == pytest.approx(frechet_distance(mu2, s2, mu1, s1), rel=1e-6)


def test_inception_score_and_class_kl_bounds():
    one_hot = np.eye(10)[np.arange(1000) % 10]
    assert inception_score(one_hot) == pytest.approx(10.0, rel=1e-6)
    assert inception_score(np.full((50, 10), 0.1)) == pytest.approx(1.0)
    assert coverage_and_kl(np.full(10, 30)) == (1.0, 0.0)
    cov, kl = coverage_and_kl(np.array([300] + [0] * 9))
    assert (cov, kl) == (0.1, pytest.approx(math.log(10)))


def test_too_few_images_is_a_user_error(ev):
    with pytest.raises(NNJError, match="at least 2 images"):
        ev.metrics(torch.zeros(1, 1, 28, 28))

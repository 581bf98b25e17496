"""Autoencoder models, corruptions, tasks, metrics and the estimator API (fast unit tests)."""

import math

import numpy as np
import pytest
import torch

import nnjournal as nnj
from nnjournal.config import AugmentConfig
from nnjournal.data.augment import build_augment
from nnjournal.data.bundle import DataInfo
from nnjournal.data.corruption import corrupt_fixed, salt_and_pepper, square_mask, zero_mask
from nnjournal.evaluation.image_quality import psnr, ssim
from nnjournal.models.autoencoders import CodeRegularizer, ConvAutoencoder, DenseAutoencoder
from nnjournal.models.vae import VAE
from nnjournal.tasks.vae import VAETask, vae_likelihoods
from nnjournal.training.predict import predict_outputs


def test_corruptions_hit_the_requested_fraction_and_stay_in_range():
    torch.manual_seed(0)
    x = torch.full((200, 64), 0.5)
    assert (zero_mask(0.3)(x) == 0).float().mean().item() == pytest.approx(0.3, abs=0.02)
    sp = salt_and_pepper(0.2)(x)
    assert ((sp == 0) | (sp == 1)).float().mean().item() == pytest.approx(0.2, abs=0.02)
    assert (sp == 0).float().mean().item() == pytest.approx(0.1, abs=0.02)
    noisy = build_augment(AugmentConfig(noise_std=0.4, clip=(0.0, 1.0)))(x)
    assert noisy.min() >= 0 and noisy.max() <= 1 and noisy.std() > 0.2
    masked = square_mask(3)(torch.ones(5, 1, 8, 8))
    assert ((masked == 0).flatten(1).sum(dim=1) == 9).all()


def test_fixed_corruption_is_repeatable_and_leaves_the_global_rng_alone():
    x = torch.rand(10, 64)
    fn = build_augment(AugmentConfig(noise_std=0.4, clip=(0.0, 1.0)))
    torch.manual_seed(1)
    before = torch.rand(1)
    torch.manual_seed(1)
    a, b = corrupt_fixed(x, fn, 7), corrupt_fixed(x, fn, 7)
    assert torch.equal(a, b) and not torch.equal(a, x)
    assert torch.equal(torch.rand(1), before)


@pytest.mark.parametrize("act", ["sigmoid", "tanh", "relu", "linear"])
def test_contractive_closed_form_equals_the_exact_jacobian_norm(act):
    torch.manual_seed(0)
    model = DenseAutoencoder((6,), [], 4, code_act=act, contractive=1.0).train()
    x = torch.randn(3, 6)
    penalty = model(x).penalty
    for i in range(3):
        jac = torch.autograd.functional.jacobian(model.encode, x[i : i + 1]).reshape(4, 6)
        assert penalty[i].item() == pytest.approx(jac.pow(2).sum().item(), rel=1e-5)


def test_contractive_estimator_for_deep_encoders_is_unbiased():
    torch.manual_seed(0)
    model = DenseAutoencoder((6,), [5], 3, act="tanh", code_act="tanh", contractive=1.0).train()
    x = torch.randn(1, 6).repeat(4000, 1)
    estimate = model(x).penalty.mean().item()
    jac = torch.autograd.functional.jacobian(model.encode, x[:1]).reshape(3, 6)
    assert estimate == pytest.approx(jac.pow(2).sum().item(), rel=0.05)


def test_penalties_only_in_training_mode_and_l1_is_the_code_sum():
    model = DenseAutoencoder((8,), [], 4, sparsity=CodeRegularizer("l1", 0.5))
    x = torch.rand(5, 8)
    out = model.train()(x)
    assert torch.allclose(out.penalty, 0.5 * out.code.abs().sum(dim=1))
    assert model.eval()(x).penalty.abs().sum() == 0
    kl = CodeRegularizer("kl", 1.0, 0.1)(torch.full((4, 3), 0.1))
    assert torch.allclose(kl, torch.zeros(4), atol=1e-6)  # at the target rho: no penalty


def test_tied_autoencoder_shares_weights_and_conv_shapes_round_trip():
    tied = DenseAutoencoder((1, 8, 8), [16], 4, tied=True)
    untied = DenseAutoencoder((1, 8, 8), [16], 4)
    n = sum(p.numel() for p in tied.parameters())
    assert n < sum(p.numel() for p in untied.parameters())
    assert tied(torch.rand(2, 1, 8, 8)).recon.shape == (2, 1, 8, 8)
    conv = ConvAutoencoder(1, 1, [8, 8])
    conv.remember_code_shape((1, 8, 8))
    out = conv.eval()(torch.rand(3, 1, 8, 8))
    assert out.recon.shape == (3, 1, 8, 8) and out.code.shape == (3, 8 * 2 * 2)
    assert torch.allclose(conv.decode(out.code), out.recon)
    sr = ConvAutoencoder(3, 3, [8], upscale=2)
    assert sr(torch.rand(2, 3, 8, 8)).recon.shape == (2, 3, 16, 16)


def test_predict_outputs_joins_structured_outputs_across_chunks():
    model = DenseAutoencoder((8,), [], 3)
    x = torch.rand(10, 8)
    out = predict_outputs(model, x, batch_size=4)
    assert out.recon.shape == (10, 8) and out.code.shape == (10, 3) and out.penalty.shape == (10,)
    assert torch.allclose(out.code, model.eval().encode(x), atol=1e-6)


def test_psnr_and_ssim_known_values():
    a = torch.zeros(2, 1, 8, 8)
    b = a + 0.1  # MSE 0.01 -> 20 dB
    assert psnr(a, b).tolist() == pytest.approx([20.0, 20.0], abs=1e-4)
    x = torch.rand(3, 1, 16, 16)
    assert ssim(x, x).tolist() == pytest.approx([1.0] * 3, abs=1e-5)
    assert (ssim(x, torch.rand(3, 1, 16, 16)) < 0.3).all()


def test_vae_kl_elbo_and_importance_sampled_nll_are_consistent():
    torch.manual_seed(0)
    model = VAE((16,), [8], 2)
    x = torch.rand(50, 16).round()
    task = VAETask(DataInfo("x", (16,)))
    mu, logvar = model.encode(x)
    out = model.eval()(x)
    kl_direct = (0.5 * (mu.pow(2) + logvar.exp() - logvar - 1)).sum(dim=1)
    assert torch.allclose(out.kl, kl_direct, atol=1e-5)
    m = vae_likelihoods(model, task, x, x, k=200)
    # -ELBO >= NLL estimate (importance weighting tightens the bound), and both are finite.
    assert m["nll_is"] <= -m["elbo"] + 0.5 and math.isfinite(m["nll_is"])
    assert torch.equal(model(x).code, model(x).code)  # eval mode: z = mu


def test_estimator_api_on_digits():
    b = nnj.load("digits")
    x, xt = b.train.x.numpy(), b.test.x.numpy()
    ae = nnj.Autoencoder(code_size=16, hidden=(64,), code_activation="linear", epochs=40, batch_size=32).fit(
        x
    )
    z = ae.transform(xt)
    assert z.shape == (len(xt), 16)
    assert np.allclose(ae.inverse_transform(z), ae.reconstruct(xt), atol=1e-5)
    err = ae.reconstruction_error(xt)
    assert err.mean() < 0.03  # the mean image scores 0.074: it learned the digits
    assert np.allclose(ae.score_samples(xt), -err)
    assert ae.get_params()["code_size"] == 16
    vae = nnj.Autoencoder(variational=True, code_size=2, hidden=(32,), epochs=2).fit(x)
    assert np.array_equal(vae.transform(xt), vae.transform(xt))
    with pytest.raises(Exception, match="not fitted"):
        nnj.Autoencoder().transform(xt)


def test_anomaly_detector_follows_pyod_conventions():
    b = nnj.load("digits")
    x, y = b.train.x.numpy(), b.train.y.numpy()
    det = nnj.AutoencoderAnomalyDetector(
        contamination=0.1, code_size=8, hidden=(32,), code_activation="linear", epochs=150, batch_size=16
    ).fit(x[y == 1])
    assert det.labels_.mean() == pytest.approx(0.1, abs=0.02)
    assert det.threshold_ == pytest.approx(np.quantile(det.decision_scores_, 0.9))
    scores = det.decision_function(b.test.x.numpy())
    from sklearn.metrics import roc_auc_score

    assert roc_auc_score(b.test.y.numpy() != 1, scores) > 0.9  # higher = more anomalous
    assert set(np.unique(det.predict(b.test.x.numpy()))) <= {0, 1}


@pytest.mark.parametrize("cls", [nnj.Autoencoder, nnj.AutoencoderAnomalyDetector])
def test_autoencoder_estimators_follow_scikit_learns_rules(cls):
    from sklearn.base import clone

    est = cls(code_size=3, hidden=(8,), epochs=1, device="cpu", random_state=1)
    shown = " ".join(repr(est).split())  # BaseEstimator's repr: the parameters that differ from defaults
    assert shown == f"{cls.__name__}(code_size=3, device='cpu', epochs=1, hidden=(8,), random_state=1)"
    params = est.get_params()
    assert params["code_size"] == 3 and params["noise_std"] == 0.0
    if cls is nnj.AutoencoderAnomalyDetector:  # every parameter spelled out, none hidden in **kwargs
        assert set(params) == set(nnj.Autoencoder().get_params()) | {"contamination"}
    twin = clone(est)
    assert twin is not est and twin.get_params() == params
    assert est.set_params(code_size=2, lr=0.01) is est and est.code_size == 2 and est.lr == 0.01
    with pytest.raises(ValueError, match="Invalid parameter 'size'"):
        est.set_params(size=2)

    rng = np.random.default_rng(0)
    x = rng.random((40, 6), dtype=np.float32)
    assert est.fit(x) is est and est.n_features_in_ == 6
    assert est.transform(x).shape == (40, 2)
    with pytest.raises(ValueError, match="X has 5 features, but .* is expecting 6 features"):
        est.transform(x[:, :5])
    with pytest.raises(ValueError, match="X has examples of shape"):
        est.score_samples(x.reshape(40, 1, 2, 3))
    with pytest.raises(ValueError, match=r"activation='swish' is invalid: Input should be"):
        clone(est).set_params(activation="swish").fit(x)

    images = rng.random((40, 1, 4, 4), dtype=np.float32)
    est.fit(images)
    assert est.n_features_in_ == 16 and est.input_shape_ == (1, 4, 4)
    with pytest.raises(ValueError, match=r"X has examples of shape \(1, 4, 5\)"):
        est.reconstruct(rng.random((3, 1, 4, 5), dtype=np.float32))


def test_a_saved_autoencoder_reloads_and_reconstructs_raw_inputs(tmp_path):
    from sklearn.datasets import load_digits

    cfg = {
        "data": {"name": "digits"},
        "model": {"name": "autoencoder", "hidden": [32], "code_size": 8},
        "task": {"name": "reconstruction"},
        "training": {"epochs": 3},
        "evaluation": {"baselines": ["dummy", "pca"]},
    }
    result = nnj.run(cfg, out=tmp_path)
    trained = nnj.load_model(result.run_dir)
    raw = load_digits().data[:5]  # pixel values 0..16, as a user has them
    recon = trained.predict(raw)
    assert recon.shape == (5, 64) and recon.min() >= 0 and recon.max() <= 1
    direct = predict_outputs(result.variants["autoencoder"].model, torch.from_numpy(raw / 16).float())
    assert np.allclose(recon, direct.recon.numpy(), atol=1e-5)
    assert "PCA 8 components" in result.summary["baselines"]


def test_skip_path_starts_at_the_classical_answer():
    import torch.nn.functional as F

    from nnjournal.models.autoencoders import ConvAutoencoder

    torch.manual_seed(0)
    grey = torch.rand(4, 1, 16, 16)
    colour = ConvAutoencoder(1, 3, [8], skip=True).eval()
    expected = grey.clamp(1e-4, 1 - 1e-4).expand(-1, 3, -1, -1)  # grey copied to RGB
    assert torch.allclose(colour(grey).recon, expected, atol=1e-5)

    small = torch.rand(4, 3, 8, 8)
    superres = ConvAutoencoder(3, 3, [8], upscale=2, skip=True).eval()
    bilinear = F.interpolate(small, scale_factor=2, mode="bilinear", align_corners=False)
    assert torch.allclose(superres(small).recon, bilinear.clamp(1e-4, 1 - 1e-4), atol=1e-5)
    with pytest.raises(ValueError, match="needs its input"):
        superres.decode(torch.zeros(1, 8 * 4 * 4))

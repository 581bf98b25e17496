"""The autoencoder recipes' quick profiles: each runs end to end in under 60 s (quiet
machine) and must show what the issue's acceptance asks, at a smaller scale.

Quick profile = the overrides below (fewer epochs; denoising keeps one corruption). The full
profiles and their numbers are in benchmarks/autoencoders.py and docs/benchmarks.md."""

import time

import pytest
from conftest import require_data

import nnjournal as nnj
from nnjournal import recipes

QUICK = {
    "ae-vs-pca": ["training.epochs=15"],
    "sparse-ae": ["training.epochs=10"],
    "denoising-ae": ["data.max_train=2000", "training.epochs=5", "training.batch_size=32"],
    "contractive-ae": ["data.max_train=3000", "training.epochs=10", "training.batch_size=32"],
    "vae": ["data.max_train=3000", "training.epochs=15"],
    "anomaly-ae": ["training.epochs=40"],
    "inpainting-ae": ["data.max_train=2000", "training.epochs=5", "training.batch_size=32"],
    "features-ae": ["data.max_train=3000", "training.epochs=10"],
    "colorization-ae": ["training.epochs=8", "training.threads=1"],
    "superres-ae": ["training.epochs=8", "training.threads=1"],
}
PHOTOS = {"colorization-ae", "superres-ae"}  # the cats-dogs photo folder, not MNIST
ONLY = {"denoising-ae": "gaussian"}  # the acceptance variant; the others run in the benchmark


def run_quick(name, tmp_path):
    raw = recipes.load_raw(name)
    if name in PHOTOS:
        raw["data"]["path"] = str(require_data("images/cats-dogs"))
    else:
        require_data("mnist")
    if name in ONLY:
        raw["variants"] = {ONLY[name]: raw["variants"][ONLY[name]]}
    cfg = recipes.validate_config(recipes.apply_overrides(raw, QUICK[name]))
    start, cpu_start = time.perf_counter(), time.process_time()
    result = nnj.run(cfg, out=tmp_path)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    assert (result.run_dir / "report.md").exists()
    # The target: each quick profile under 60 s. Under `pytest -n 2` the other worker
    # takes the second core, so wall time can double while the process's CPU time does not
    # (CI once measured features-ae at 66 s wall, 64 s CPU; 36 s wall alone). A compute-bound
    # run alone on the machine takes at most its CPU time, so the bound holds if either
    # measure is under 60 s. Quiet-machine times: docs/benchmarks.md.
    quiet_bound = min(elapsed, cpu)
    assert quiet_bound < 60, f"{name} quick profile took {elapsed:.0f} s wall ({cpu:.0f} s of CPU)"
    return result, elapsed


def test_every_autoencoder_recipe_has_a_quick_profile():
    names = {"ae-vs-pca", "sparse-ae", "denoising-ae", "contractive-ae", "vae", "anomaly-ae", "inpainting-ae"}
    assert names <= set(recipes.names()) and names <= set(QUICK)


def test_ae_vs_pca_nonlinear_beats_pca_and_linear_matches_it(tmp_path):
    result, elapsed = run_quick("ae-vs-pca", tmp_path)
    pca = next(v["mse"] for k, v in result.summary["baselines"].items() if k.startswith("PCA"))
    mse = {k: v["mse"] for k, v in result.test_metrics.items()}
    assert mse["nonlinear"] < pca
    assert abs(mse["linear"] / pca - 1) < 0.05
    assert "PCA" in (result.run_dir / "report.md").read_text()


def test_sparse_ae_l1_lowers_code_activation(tmp_path):
    result, _ = run_quick("sparse-ae", tmp_path)
    plain, l1 = result.test_metrics["plain"], result.test_metrics["l1"]
    assert l1["code_mean_activation"] < plain["code_mean_activation"]
    assert l1["code_inactive_fraction"] > plain["code_inactive_fraction"]
    assert plain["mse"] < 0.05 and l1["mse"] < 0.05  # both still reconstruct (mean image: 0.074)


def test_denoising_ae_gains_6db_and_beats_classical_filters(tmp_path):
    result, _ = run_quick("denoising-ae", tmp_path)
    m = result.test_metrics["gaussian"]
    assert m["psnr"] >= m["input_psnr"] + 6
    filters = [v["psnr"] for k, v in result.summary["baselines"].items() if "filter" in k or "blur" in k]
    assert len(filters) == 2 and m["psnr"] > max(filters)
    assert (result.run_dir / "plots" / "reconstructions.png").exists()


def test_contractive_ae_makes_the_code_less_sensitive(tmp_path):
    result, _ = run_quick("contractive-ae", tmp_path)
    plain, cae = result.test_metrics["plain"], result.test_metrics["contractive"]
    assert cae["code_sensitivity"] < 0.8 * plain["code_sensitivity"]
    assert cae["mse"] < 0.06


def test_vae_reports_elbo_nll_and_its_pictures(tmp_path):
    result, _ = run_quick("vae", tmp_path)
    for name in ("latent2", "latent5"):
        m = result.test_metrics[name]
        assert m["nll_is"] <= -m["elbo"] + 0.5  # importance sampling tightens the ELBO
        assert m["active_latent_dims"] >= 2
        assert m["mse"] < result.summary["baselines"]["mean"]["mse"]
    plots = {p["file"] for p in result.summary["plots"]}
    assert {
        "plots/samples_latent2.png",
        "plots/interpolations_latent5.png",
        "plots/latent_map_latent2.png",
    } <= plots
    report = (result.run_dir / "report.md").read_text()
    assert "ELBO" in report and "importance-sampled NLL" in report


def test_anomaly_ae_detects_non_ones(tmp_path):
    result, _ = run_quick("anomaly-ae", tmp_path)
    m = result.test_metrics["autoencoder"]
    assert m["roc_auc"] >= 0.9
    assert (result.run_dir / "plots" / "anomaly_scores.png").exists()


def test_inpainting_ae_fills_the_hole(tmp_path):
    result, _ = run_quick("inpainting-ae", tmp_path)
    m = result.test_metrics["autoencoder"]
    # Inside the holes it must do clearly better than leaving them blank, and than filters.
    assert m["corrupted_mse"] < 0.8 * m["input_corrupted_mse"]
    filters = [
        v["corrupted_mse"] for k, v in result.summary["baselines"].items() if "filter" in k or "blur" in k
    ]
    assert m["corrupted_mse"] < min(filters)


def test_features_ae_codes_feed_downstream_classifiers(tmp_path):
    result, _ = run_quick("features-ae", tmp_path)
    m = result.test_metrics["autoencoder"]
    raw = result.summary["baselines"]["raw inputs"]
    assert m["downstream_logreg_accuracy"] > 0.85 and raw["downstream_logreg_accuracy"] > 0.85
    assert m["downstream_gbm_accuracy"] > 0.8


@pytest.mark.parametrize("name", sorted(PHOTOS))
def test_photo_recipes_beat_their_classical_baseline(name, tmp_path):
    result, _ = run_quick(name, tmp_path)
    m = result.test_metrics["autoencoder"]
    baselines = result.summary["baselines"]
    shown = {
        "colorization-ae": {"grey copied to RGB", "ridge on grey patches (classical colour model)"},
        "superres-ae": {"bilinear upsampling", "bicubic upsampling", "Lanczos-3 upsampling"},
    }[name]
    assert shown <= set(baselines)
    # Against the *best* classical answer (Lanczos-3; the ridge colour model). The networks
    # start at Lanczos-3 or the grey image (zero-initialised head) and learn what it misses;
    # an untrained one scores that answer or worse. Quick profiles measured +0.37 dB (colour)
    # and +0.65 dB (super-resolution) above it (docs/benchmarks.md, "Autoencoder applications").
    best = max((k for k in baselines if k != "mean"), key=lambda k: baselines[k]["psnr"])
    margin = {"colorization-ae": 0.15, "superres-ae": 0.4}[name]
    assert m["psnr"] > baselines[best]["psnr"] + margin, (m["psnr"], best, baselines[best]["psnr"])
    assert m["ssim"] > baselines[best]["ssim"], (m["ssim"], best, baselines[best]["ssim"])
    assert m["mse"] < 0.8 * baselines["mean"]["mse"]
    assert best in (result.run_dir / "report.md").read_text() and baselines[best]["mse"] > 0
    assert (result.run_dir / "plots" / "reconstructions.png").exists()

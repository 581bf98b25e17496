"""`evaluation.cv` for any in-memory data (issue 14): k folds of digits with fold metrics and
mean ± std, stratified; the preprocessing fitted on each fold's training rows only; leave-one-out
on a tiny CSV; a run without `evaluation.cv` keeps its numbers."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch

import nnjournal
from nnjournal.data.bundle import DataBundle, DataInfo, Split
from nnjournal.data.images import pixel_statistics
from nnjournal.data.preprocessing import Preprocessing
from nnjournal.evaluation.cross_validation import in_memory_pool

pytestmark = pytest.mark.usefixtures("one_thread")

QUICK = ["journal.plots=false", "training.epochs=3", "evaluation.baselines=['linear']"]


def test_three_folds_of_digits_report_each_fold_and_mean_std_and_leave_the_run_alone(tmp_path):
    plain = nnjournal.run("digits-mlp", QUICK, out=tmp_path / "plain")
    result = nnjournal.run("digits-mlp", [*QUICK, "evaluation.cv=3"], out=tmp_path / "cv")
    assert result.test_metrics == plain.test_metrics  # the run's own numbers do not move
    cv = result.summary["cross_validation"]
    assert cv["folds"] == 3 and cv["scheme"] == "k-fold" and cv["stratified"] and cv["examples"] == 1797
    folds = cv["per_fold"]
    assert len(folds) == 3 and sum(f["n"] for f in folds) == 1797
    accuracies = [f["accuracy"] for f in folds]
    net = cv["models"]["network"]["accuracy"]
    assert net["mean"] == pytest.approx(np.mean(accuracies)) and net["std"] == pytest.approx(np.std(accuracies))
    assert 0.8 < net["mean"] <= 1 and net["std"] > 0
    assert "logistic regression" in cv["models"]
    # Stratified: every class is spread over the folds as evenly as whole rows allow.
    counts = np.array(cv["fold_class_counts"])  # (folds, classes)
    assert counts.sum() == 1797 and (counts.max(axis=0) - counts.min(axis=0) <= 1).all()
    report = (result.run_dir / "report.md").read_text()
    assert "stratified 3-fold cross-validation" in report and "±" in report and "network accuracy" in report
    assert "3-fold cross-validation, accuracy mean ± std" in " ".join(result.summary["conclusion"])


def _bundle(x: np.ndarray, y: np.ndarray, prep: Preprocessing, info: DataInfo, n_train: int) -> DataBundle:
    def split(rows: slice) -> Split:
        xs = x[rows] if info.pixel_mean is not None else prep.transform(x[rows])
        return Split(torch.as_tensor(xs), torch.as_tensor(y[rows]))

    return DataBundle(split(slice(0, n_train)), None, split(slice(n_train, None)), info, prep)


def test_a_fold_standardises_with_its_own_training_rows_only():
    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 2.0, (60, 4)).astype(np.float32)
    x[40:] += 10.0  # the loader's test rows differ: a fold fitted on them would show it
    y = np.arange(60) % 2
    prep = Preprocessing.standardize(x[:40], (4,))
    info = DataInfo("toy", (4,), n_classes=2, class_names=["a", "b"])
    pool = in_memory_pool(_bundle(x, y, prep, info, 40))
    train, test = np.arange(20, 60), np.arange(20)
    fold = pool.build(train, train[:0], test, 0)
    assert np.allclose(fold.preprocessing.shift, x[train].mean(0), atol=1e-4)
    assert np.allclose(fold.preprocessing.scale, x[train].std(0), atol=1e-4)
    assert np.allclose(fold.train.x.numpy().mean(0), 0, atol=1e-4)  # standardised on these rows
    assert np.allclose(fold.test.x.numpy(), (x[test] - x[train].mean(0)) / x[train].std(0), atol=1e-4)
    # A fixed transform (digits' /16) is nothing fitted, so it stays as the loader made it.
    fixed = in_memory_pool(_bundle(x, y, Preprocessing((4,), 0.0, 16.0), info, 40))
    assert np.allclose(fixed.build(train, train[:0], test, 0).test.x.numpy(), x[test] / 16, atol=1e-6)


def test_a_fold_of_images_takes_pixel_statistics_from_its_training_rows():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 120, (30, 1, 4, 4), dtype=np.uint8)
    x[20:] += 100
    y = np.arange(30) % 3
    mean, std = pixel_statistics(x, np.arange(20))
    info = DataInfo("pics", (1, 4, 4), n_classes=3, class_names=["0", "1", "2"], pixel_mean=mean, pixel_std=std)
    pool = in_memory_pool(_bundle(x, y, Preprocessing((1, 4, 4)), info, 20))
    train = np.arange(10, 30)
    fold = pool.build(train, train[:0], np.arange(10), 0)
    assert (fold.info.pixel_mean, fold.info.pixel_std) == pixel_statistics(x, train)
    assert fold.train.x.dtype == torch.uint8 and torch.equal(fold.test.x, torch.from_numpy(x[:10]))


def _tiny_csv(path, n: int = 30):
    rng = np.random.default_rng(2)
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["a", "b", "y"])
        for i in range(n):
            a, b = rng.normal(), rng.normal()
            w.writerow([f"{a:.3f}", f"{b:.3f}", "yes" if i % 2 else "no"])
    return path


def test_leave_one_out_on_a_tiny_csv_scores_every_held_out_row_together(tmp_path):
    path = _tiny_csv(tmp_path / "tiny.csv")
    result = nnjournal.run(
        "tabular",
        [f"data.path='{path}'", "data.target='y'", "evaluation.cv='loo'", "training.epochs=3",
         "journal.plots=false", "evaluation.baselines=['dummy']", "evaluation.permutation_importance=false"],
        out=tmp_path / "runs",
    )
    cv = result.summary["cross_validation"]
    assert cv["scheme"] == "loo" and cv["folds"] == 30 and cv["examples"] == 30 and not cv["stratified"]
    acc = cv["models"]["network"]["accuracy"]
    assert acc["std"] is None and round(acc["mean"] * 30) == pytest.approx(acc["mean"] * 30)  # k of 30 right
    assert "roc_auc" in cv["models"]["network"]  # defined over the 30 predictions together
    assert "Leave-one-out over all 30 examples" in (result.run_dir / "report.md").read_text()
    assert "Leave-one-out over 30 examples" in " ".join(result.summary["conclusion"])

"""Class imbalance: decision thresholds chosen for a stated objective, balanced class
weights in the loss, and oversampling of the training split."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import f1_score, precision_score, recall_score

from nnjournal.config import CsvData
from nnjournal.data.tabular import load_csv
from nnjournal.evaluation.threshold import choose_threshold
from nnjournal.tasks.classification import Classification


@pytest.fixture
def scores():
    rng = np.random.default_rng(0)
    y = (rng.random(2000) < 0.2).astype(int)
    p = np.clip(0.2 + 0.35 * y + rng.normal(0, 0.2, 2000), 0, 1)
    return y, p


def _f1(y: np.ndarray, pred: np.ndarray) -> float:
    tp = np.sum(pred & (y == 1))
    return 2 * tp / (pred.sum() + (y == 1).sum())


def test_f1_threshold_is_the_best_f1_over_all_cut_points(scores):
    y, p = scores
    chosen = choose_threshold(y, p, "f1")
    brute = max(_f1(y, p >= t) for t in np.unique(p))
    assert chosen["f1"] == pytest.approx(brute)
    assert f1_score(y, p >= chosen["value"]) == pytest.approx(brute)


def test_recall_at_precision_meets_the_floor_with_the_most_recall(scores):
    y, p = scores
    chosen = choose_threshold(y, p, "recall_at_precision", min_precision=0.8)
    assert chosen["met"] and precision_score(y, p >= chosen["value"]) >= 0.8
    lower = np.unique(p)[np.unique(p) < chosen["value"]]
    # Any lower threshold (more recall) breaks the precision floor.
    assert all(np.mean(y[p >= t]) < 0.8 for t in lower)
    assert recall_score(y, p >= chosen["value"]) == pytest.approx(chosen["recall"])


def test_balanced_class_weights_scale_each_examples_loss():
    out = torch.tensor([[0.3], [-1.0], [2.0]])
    y = torch.tensor([1, 0, 1])
    plain = torch.nn.functional.binary_cross_entropy_with_logits(out.squeeze(1), y.float(), reduction="none")
    weighted = Classification(2, [0.5, 3.0]).loss(out, y)
    assert weighted.item() == pytest.approx((plain * torch.tensor([3.0, 0.5, 3.0])).mean().item())
    assert Classification(2).loss(out, y).item() == pytest.approx(plain.mean().item())


def test_oversampling_balances_only_the_training_split(tmp_path):
    from tabular_files import write_mixed_csv

    path = write_mixed_csv(tmp_path / "shop.csv", n=300)
    plain = load_csv(CsvData(path=path, target="bought"), seed=0, task="classification")
    over = load_csv(CsvData(path=path, target="bought", oversample=True), seed=0, task="classification")
    counts = np.bincount(over.train.y.numpy())
    assert counts[0] == counts[1] == np.bincount(plain.train.y.numpy()).max()
    assert torch.equal(over.test.y, plain.test.y)
    assert any(n.startswith("Oversampling:") for n in over.info.notes)


def test_an_imbalanced_csv_leads_with_roc_auc_and_says_why(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(500, 2))
    rare = x[:, 0] + 0.5 * rng.normal(size=500) > 1.2  # about 12% of the rows
    path = tmp_path / "rare.csv"
    path.write_text("a,b,target\n" + "".join(f"{a:.4f},{b:.4f},{'yes' if r else 'no'}\n" for (a, b), r in zip(x, rare, strict=True)))
    import nnjournal

    result = nnjournal.run(
        "tabular",
        [f"data.path={path}", "data.target=target", "training.epochs=3", "journal.plots=false",
         "evaluation.permutation_importance=false", "evaluation.baselines=['dummy']"],
        out=tmp_path,
    )
    s = result.summary
    assert s["headline"]["metric"] == "roc_auc" and s["report_metrics"][0] == "roc_auc"
    counts = s["data"]["class_counts"]
    share = max(np.add(counts["val"], counts["test"])) / sum(np.add(counts["val"], counts["test"]))
    assert share >= 0.8 and s["data"]["sizes"]["test"] == sum(counts["test"])
    assert len(s["learning_curves"]["mlp"]["val_loss"]) == 3
    assert s["conclusion"][0].startswith(f"{share:.0%} of the held-out rows are one class ('no'): accuracy would "
                                         "reward always answering it")
    chosen = nnjournal.run(
        "tabular",
        [f"data.path={path}", "data.target=target", "training.epochs=1", "journal.plots=false",
         "evaluation.permutation_importance=false", "evaluation.baselines=['dummy']", "task.headline=accuracy"],
        out=tmp_path,
    )
    assert chosen.summary["headline"]["metric"] == "accuracy"
    assert "accuracy rewards always answering it" in chosen.summary["conclusion"][0]

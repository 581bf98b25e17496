"""Autoencoders on tables (issue 18), besides imputation (tests/test_tabular_imputation.py):
the anomaly detector on bank churn (`anomaly-ae-churn`, churners made a 5% minority of the
test split) and the seeded subsample that makes a class rare."""

from __future__ import annotations

import json
import time

import pytest
import torch
from conftest import require_data

import nnjournal as nnj
from nnjournal import recipes
from nnjournal.data.anomaly_split import keep_anomaly_share
from nnjournal.errors import NNJError

pytestmark = pytest.mark.usefixtures("one_thread")


def test_keep_anomaly_share_keeps_every_normal_row_and_a_seeded_share_of_the_rest():
    flags = torch.tensor([0] * 95 + [1] * 40)
    keep = keep_anomaly_share(flags, 0.05, seed=3)
    assert int((flags[keep] == 0).sum()) == 95 and int(flags[keep].sum()) == 5
    assert torch.equal(keep, keep_anomaly_share(flags, 0.05, seed=3))  # seeded
    assert not torch.equal(keep, keep_anomaly_share(flags, 0.05, seed=4))
    assert len(keep_anomaly_share(flags, 0.5, seed=0)) == len(flags)  # already rarer: all kept
    with pytest.raises(NNJError, match="no normal example"):
        keep_anomaly_share(torch.ones(4, dtype=torch.long), 0.05, seed=0)


def test_anomaly_ae_churn_quick_profile_detects_churners_above_chance(tmp_path):
    require_data("churn")
    cfg = recipes.validate_config(
        recipes.apply_overrides(recipes.load_raw("anomaly-ae-churn"), ["training.epochs=15"])
    )
    start, cpu_start = time.perf_counter(), time.process_time()
    result = nnj.run(cfg, out=tmp_path)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    assert min(elapsed, cpu) < 60, (
        f"anomaly-ae-churn quick profile took {elapsed:.0f} s wall ({cpu:.0f} s CPU)"
    )
    s = json.loads((result.run_dir / "summary.json").read_text())
    test = s["variants"]["autoencoder"]["test"]
    v = result.variants["autoencoder"]
    anomaly = v.bundle.test.anomaly
    share = float(anomaly.float().mean())
    assert 0.045 < share < 0.055  # churners made a 5% minority of the test rows
    assert bool((v.bundle.train.labels == 0).all())  # trained on the stayers only
    # Churn is no data error, but a churner's row is less typical: above chance (0.5 ROC-AUC,
    # PR-AUC = the 5% share), not necessarily above PCA (docs/benchmarks.md, "Autoencoder applications").
    assert test["roc_auc"] > 0.6 and test["pr_auc"] > 1.5 * share  # measured 0.646 and 0.108
    assert {"mean", "PCA 2 components"} <= set(s["baselines"])

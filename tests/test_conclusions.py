"""The conclusion's sentences from constructed summaries (no training): over-, under- and
well-fitted runs judged from the learning curves and the baselines, a still-improving run,
differences within noise for the test size, and the headline on imbalanced data."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from nnjournal.config.task import ClassificationTask
from nnjournal.data.bundle import DataBundle, DataInfo, Split
from nnjournal.errors import NNJError
from nnjournal.evaluation.metrics import CLASSIFICATION_DIRECTIONS, REGRESSION_DIRECTIONS
from nnjournal.evaluation.uncertainty import difference_noise, standard_error
from nnjournal.journal.conclusion import write_conclusion
from nnjournal.tasks.classification import Classification, auto_headline

FALLING = [0.69, 0.52, 0.44, 0.40, 0.37, 0.35, 0.34, 0.33, 0.325, 0.32]


def summary(
    *,
    metric: str = "accuracy",
    train: float,
    val: float,
    test: float,
    baselines: dict[str, float] | None = None,
    curves: dict[str, list[float]] | None = None,
    history: dict[str, Any] | None = None,
    sizes: tuple[int, int, int] = (6000, 2000, 2000),
    counts: list[int] | None = None,
    extra_test: dict[str, float] | None = None,
    more: dict[str, float] | None = None,
) -> dict[str, Any]:
    """A summary as `journal.entry.build_summary` writes it, with only what the conclusion reads.
    `more` adds variants by test score (same train/val numbers)."""
    directions = CLASSIFICATION_DIRECTIONS if metric in CLASSIFICATION_DIRECTIONS else REGRESSION_DIRECTIONS
    epochs = len((curves or {}).get("val_loss") or (curves or {}).get("train_loss") or [0] * 10)
    h = {"monitor": "val_loss", "best_epoch": epochs // 2, "best_value": 0.0, "stopped_early": False,
         "restored_best": False, "epochs_run": epochs, **(history or {})}

    def variant(score: float) -> dict[str, Any]:
        return {"train": {metric: train}, "val": {metric: val}, "test": {metric: score, **(extra_test or {})},
                "history": h}

    variants = {"mlp": variant(test), **{n: variant(s) for n, s in (more or {}).items()}}
    data: dict[str, Any] = {"sizes": dict(zip(("train", "val", "test"), sizes, strict=True)), "class_names": None}
    if counts is not None:
        data["class_counts"] = {"test": counts}
        data["class_names"] = ["no", "yes"][: len(counts)] if len(counts) == 2 else None
    return {
        "headline": {"metric": metric, "variant": "mlp", "value": test},
        "directions": directions,
        "data": data,
        "variants": variants,
        "baselines": {n: {metric: v} for n, v in (baselines or {}).items()},
        # without `curves`, a summary from before learning curves: judged from its metrics alone
        **({"learning_curves": {n: curves for n in variants}} if curves else {}),
    }


def text(s: dict[str, Any]) -> str:
    return " ".join(write_conclusion(s))


# ---------------------------------------------------------------------------- fit
def test_overfitted_run_is_called_overfitting_from_its_curves():
    val = [0.60, 0.45, 0.38, 0.35, 0.36, 0.39, 0.42, 0.45]
    train = [0.60, 0.40, 0.30, 0.22, 0.16, 0.11, 0.08, 0.05]
    s = summary(train=0.99, val=0.86, test=0.85, baselines={"logistic regression": 0.80},
                curves={"train_loss": train, "val_loss": val}, history={"best_epoch": 4})
    t = text(s)
    assert "mlp overfits: its validation loss rose 20% above its minimum at epoch 4 (of 8)" in t
    assert "while its training loss kept falling (0.220 -> 0.050)" in t
    assert "training.early_stopping" in t and "still improving" not in t and "underfits" not in t


def test_an_overfitted_run_whose_best_weights_were_restored_says_when_it_began():
    val = [0.60, 0.45, 0.38, 0.35, 0.36, 0.39, 0.42, 0.45]
    train = [0.60, 0.40, 0.30, 0.22, 0.16, 0.11, 0.08, 0.05]
    s = summary(train=0.95, val=0.88, test=0.87, curves={"train_loss": train, "val_loss": val},
                history={"best_epoch": 4, "stopped_early": True, "restored_best": True})
    lines = write_conclusion(s)
    assert any(line.startswith("mlp began to overfit after epoch 4: its validation loss rose 20%") for line in lines)
    assert "mlp stopped early after 8 epochs; the best epoch was 4 by val_loss and its weights were restored." in lines
    assert "mlp overfits" not in " ".join(lines)


def test_a_large_gap_in_the_metrics_units_is_not_overfitting_when_validation_is_lower_and_falling():
    # The case: RMSE 30,000 on train vs 21,000 on validation (a "gap" of 9,000 units),
    # the validation loss still falling at the last epoch.
    s = summary(metric="rmse", train=30_000.0, val=21_053.0, test=22_000.0,
                baselines={"mean": 60_000.0, "ridge regression (CV alpha)": 31_000.0},
                curves={"train_loss": [1.0, 0.6, 0.45, 0.4, 0.36, 0.33], "val_loss": [0.9, 0.5, 0.4, 0.33, 0.3, 0.28]},
                sizes=(900, 300, 300))
    t = text(s)
    assert "overfit" not in t and "generalization gap" not in t and "underfits" not in t
    assert "mlp was still improving at the last epoch (validation loss 0.400 -> 0.280 over its last 3 epochs, " \
           "lowest at epoch 6 of 6): train longer (training.epochs)." in t
    assert "is better by 9,000 (beyond the ±" in t  # a thousands-separated number, not 9000.000


def test_a_well_fitted_run_is_called_neither_over_nor_underfitting_nor_still_improving():
    val = [0.60, 0.45, 0.38, 0.35, 0.34, 0.335, 0.336, 0.338, 0.337, 0.339]
    train = [0.62, 0.46, 0.38, 0.34, 0.32, 0.31, 0.305, 0.30, 0.298, 0.296]
    s = summary(train=0.93, val=0.92, test=0.92, baselines={"majority class": 0.55, "logistic regression": 0.85},
                curves={"train_loss": train, "val_loss": val}, history={"best_epoch": 6})
    t = text(s)
    for wrong in ("overfit", "underfit", "still improving", "generalization gap", "within noise"):
        assert wrong not in t
    assert "The best baseline is logistic regression at 0.850; mlp is better by 0.070 (beyond the ±0.020 " \
           "noise of 2,000 test rows)." in t


def test_an_underfitted_run_is_judged_against_the_baselines():
    s = summary(train=0.70, val=0.69, test=0.68, baselines={"majority class": 0.60, "logistic regression": 0.80},
                curves={"train_loss": [0.69, 0.66, 0.65, 0.645, 0.644, 0.643],
                        "val_loss": [0.69, 0.665, 0.655, 0.651, 0.652, 0.653]}, history={"best_epoch": 4})
    t = text(s)
    assert "mlp underfits: on its own training split it scores accuracy 0.700, no better than logistic " \
           "regression does on the unseen test split (0.800)" in t
    assert "overfit" not in t


def test_a_model_that_fits_nothing_of_its_training_split_underfits_whatever_the_noise():
    s = summary(train=0.50, val=0.50, test=0.50, baselines={"majority class": 0.50}, sizes=(4, 4, 4))
    assert "mlp underfits: on its own training split it scores accuracy 0.500, no better than majority class " \
           "does on the unseen test split (0.500)" in text(s)


def test_weak_training_scores_on_noisy_data_are_not_underfitting_when_the_network_beats_the_baselines():
    # The case: training accuracy below 0.9 on noisy medical data, every baseline beaten.
    s = summary(train=0.86, val=0.85, test=0.85, baselines={"majority class": 0.54, "logistic regression": 0.82},
                curves={"train_loss": FALLING[:6] + [0.345, 0.344, 0.346, 0.347],
                        "val_loss": FALLING[:6] + [0.352, 0.351, 0.353, 0.356]},
                history={"best_epoch": 6}, sizes=(180, 60, 60))
    t = text(s)
    assert "underfit" not in t and "overfit" not in t


def test_a_training_loss_that_grew_says_lower_the_learning_rate_not_raise_it():
    # What `--set training.optimizer.lr=1e6` does to xor: the loss stays finite (so the
    # non-finite guard never fires) but ends far above where it started.
    train = [1.09, 607_562.0, 66_266.0, 90_000.0, 277_682.0, 245_267.0, 68_654.0]
    s = summary(train=0.50, val=0.50, test=0.50, baselines={"majority class": 0.50}, sizes=(4, 200, 4),
                curves={"train_loss": train, "val_loss": [2_875.0, 163_551.0, 782_253.0, 5e5, 245_267.0, 111_220.0, 247_035.0]},
                history={"best_epoch": 1, "restored_best": True})
    t = text(s)
    assert "mlp's training loss grew instead of falling: 1.090 after epoch 1, 197,201 at the end (lowest 1.090, " \
           "epoch 1)" in t
    assert "lower training.optimizer.lr" in t
    assert "underfits" not in t and "higher learning rate" not in t


def test_a_training_loss_that_rises_a_little_is_not_called_growing():
    train = [0.60, 0.40, 0.35, 0.50, 0.70, 0.80, 0.90]  # worse than its best, but under 2x its start
    s = summary(train=0.80, val=0.79, test=0.78, baselines={"majority class": 0.55},
                curves={"train_loss": train, "val_loss": train}, history={"best_epoch": 3})
    assert "grew instead of falling" not in text(s)


def test_zero_init_symmetry_is_named_instead_of_underfitting():
    s = summary(train=0.30, val=0.29, test=0.28, baselines={"majority class": 0.10, "logistic regression": 0.96})
    s["variants"]["mlp"]["symmetric_layers"] = [1, 2]
    t = text(s)
    assert "hidden units are all identical in layer(s) [1, 2]" in t and "underfits" not in t


def test_a_generalization_gap_is_named_without_the_curves_saying_overfitting():
    val = [0.5, 0.3, 0.2, 0.15, 0.12, 0.11, 0.105, 0.104, 0.105, 0.104]  # flat, not rising
    train = [0.5, 0.25, 0.12, 0.06, 0.03, 0.02, 0.01, 0.006, 0.004, 0.003]
    s = summary(train=1.0, val=0.95, test=0.95, curves={"train_loss": train, "val_loss": val},
                history={"best_epoch": 8}, sizes=(1000, 1000, 1000))
    t = text(s)
    assert "a generalization gap that more regularization or data may narrow" in t
    assert "no error on the training split" in t and "overfits" not in t


def test_a_variant_trained_without_a_loss_curve_gets_no_fit_verdict():
    # A GAN: its "training split" numbers are the same samples', its baseline a ceiling.
    s = summary(metric="frechet_distance", train=133.1, val=133.1, test=133.1, baselines={"real test images": 1.7})
    s["directions"] = {"frechet_distance": "min"}
    s["learning_curves"] = {}
    t = text(s)
    assert "underfit" not in t and "gap" not in t
    assert "The best baseline is real test images at 1.700; mlp is worse by 131.400 (no noise estimate" in t


# ---------------------------------------------------------------------------- how training ended
def test_a_run_whose_best_epoch_is_its_last_is_still_improving():
    s = summary(train=0.90, val=0.88, test=0.88, curves={"train_loss": FALLING, "val_loss": FALLING})
    lines = write_conclusion(s)
    assert ("mlp was still improving at the last epoch (validation loss 0.340 -> 0.320 over its last 3 epochs, "
            "lowest at epoch 10 of 10): train longer (training.epochs).") in lines


def test_an_early_stopped_run_is_never_still_improving():
    s = summary(train=0.90, val=0.88, test=0.88, curves={"train_loss": FALLING, "val_loss": FALLING},
                history={"stopped_early": True, "epochs_run": 10, "best_epoch": 10})
    t = text(s)
    assert "still improving" not in t and "mlp stopped early after 10 epochs" in t


def test_a_flat_end_after_a_steep_start_is_not_still_improving():
    s = summary(train=0.70, val=0.69, test=0.68,
                curves={"train_loss": [0.69, 0.66, 0.65, 0.645, 0.644, 0.643],
                        "val_loss": [0.69, 0.665, 0.655, 0.651, 0.652, 0.653]}, history={"best_epoch": 4})
    assert "still improving" not in text(s)
    falling = summary(train=0.70, val=0.69, test=0.68,  # lowest within 1% of an earlier tie, falling clearly
                      curves={"train_loss": FALLING, "val_loss": FALLING[:7] + [0.3399, 0.3398, 0.33]})
    assert "still improving" in text(falling)


def test_without_curves_the_monitors_last_best_epoch_says_still_improving():
    s = summary(train=0.90, val=0.88, test=0.88, history={"best_epoch": 20, "epochs_run": 20})
    assert "mlp was still improving at the last epoch (best val_loss at epoch 20 of 20)" in text(s)


def test_restored_best_weights_are_still_reported():
    s = summary(train=0.90, val=0.88, test=0.88, history={"best_epoch": 12, "epochs_run": 20, "restored_best": True})
    assert "mlp's best epoch by val_loss was 12 of 20; its weights were restored for testing." in write_conclusion(s)


# ---------------------------------------------------------------------------- noise
def test_a_one_row_difference_from_the_best_baseline_is_within_noise_not_better():
    s = summary(train=0.86, val=0.85, test=0.851, baselines={"logistic regression": 0.850}, sizes=(3000, 1000, 1000))
    t = text(s)
    assert "The best baseline is logistic regression at 0.850; mlp's 0.851 is within noise of it " \
           "(difference 0.001, inside ±0.031 for 1,000 test rows): neither is shown the better." in t
    assert "better by" not in t and "0.000" not in t


def test_a_clear_difference_from_the_best_baseline_is_called_better():
    s = summary(train=0.91, val=0.90, test=0.90, baselines={"logistic regression": 0.85}, sizes=(6000, 2000, 2000))
    t = text(s)
    assert "mlp is better by 0.050 (beyond the ±0.020 noise of 2,000 test rows)." in t and "within noise" not in t


def test_a_clear_shortfall_is_called_worse_not_not_better():
    s = summary(train=0.91, val=0.80, test=0.80, baselines={"boosted trees": 0.86}, sizes=(6000, 2000, 2000))
    t = text(s)
    assert "mlp is worse by 0.060 (beyond the ±0.023 noise of 2,000 test rows)." in t and "not better" not in t


def test_an_equal_score_says_the_same_never_by_zero():
    s = summary(train=0.82, val=0.81, test=0.808, baselines={"logistic regression": 0.808}, sizes=(240, 80, 80))
    t = text(s)
    assert "mlp scores the same." in t and "0.000" not in t


def test_models_within_noise_of_each_other_are_not_ranked_as_better():
    s = summary(train=0.92, val=0.90, test=0.901, more={"wide": 0.897, "tiny": 0.70}, sizes=(3000, 1000, 1000))
    first = write_conclusion(s)[0]
    assert first.startswith("Test accuracy, best first: mlp 0.901, wide 0.897, tiny 0.700. mlp leads, but wide is "
                            "within noise of it")
    assert "none of them is shown the better" in first and "best model here" not in first


def test_clearly_ranked_models_name_the_best():
    s = summary(train=0.92, val=0.90, test=0.95, more={"tiny": 0.70}, sizes=(3000, 1000, 1000))
    assert write_conclusion(s)[0] == "Test accuracy, best first: mlp 0.950, tiny 0.700. mlp is the best model here."


def test_within_noise_of_the_floor_baseline_is_not_learning_shown():
    s = summary(metric="rmse", train=10.0, val=10.5, test=10.5, baselines={"mean": 12.4}, sizes=(228, 76, 76))
    assert "mlp's 10.500 is within noise of it (difference 1.900, inside ±2.583 for 76 test rows): neither is " \
           "shown the better, so it has not shown that it learned the task." in text(s)
    s = summary(metric="rmse", train=10.0, val=10.5, test=10.5, baselines={"mean": 12.4, "ridge": 10.6},
                sizes=(228, 76, 76))
    assert "mlp is within noise of the mean baseline (10.500 vs 12.400, inside ±2.583 for 76 test rows): it " \
           "has not shown that it learned the task." in text(s)
    s = summary(train=0.70, val=0.60, test=0.58, baselines={"majority class": 0.60})
    assert "mlp does no better than the majority class baseline (0.600)" in text(s)


def test_standard_errors_follow_the_test_size():
    assert standard_error("accuracy", 0.9, 100) == pytest.approx(0.03)
    assert standard_error("rmse", 10.0, 50) == pytest.approx(1.0)
    # Hanley & McNeil (1982): AUC 0.8 with 50 positives and 50 negatives has SE 0.0445.
    assert standard_error("roc_auc", 0.8, 100, [50, 50]) == pytest.approx(0.0445, abs=1e-4)
    assert difference_noise("accuracy", 1.0, 1.0, 500) == pytest.approx(1 / 500)  # one row, never 0
    assert difference_noise("log_loss", 0.3, 0.4, 500) is None  # no formula: no claim


# ---------------------------------------------------------------------------- imbalance
def _bundle(y: list[int]) -> DataBundle:
    labels = torch.tensor(y)
    split = Split(torch.zeros(len(y), 2), labels)
    return DataBundle(split, split, split, DataInfo("toy", (2,), n_classes=int(labels.max()) + 1), None)


def test_the_headline_suits_imbalance_and_respects_an_explicit_choice():
    assert auto_headline([880, 120]) == "roc_auc"
    assert auto_headline([700, 300]) == "accuracy"
    assert auto_headline([850, 100, 50]) == "balanced_accuracy"
    assert auto_headline([1000, 0]) == "balanced_accuracy"  # ROC-AUC needs both classes
    imbalanced = _bundle([0] * 88 + [1] * 12)
    auto = Classification.from_config(ClassificationTask(), imbalanced.info, imbalanced)
    assert auto.headline == "roc_auc" and auto.report_metrics[0] == "roc_auc"
    chosen = Classification.from_config(ClassificationTask(headline="accuracy"), imbalanced.info, imbalanced)
    assert chosen.headline == "accuracy"
    balanced = _bundle([0] * 50 + [1] * 50)
    assert Classification.from_config(ClassificationTask(), balanced.info, balanced).headline == "accuracy"
    three = _bundle([0] * 80 + [1] * 10 + [2] * 10)
    assert Classification.from_config(ClassificationTask(), three.info, three).headline == "balanced_accuracy"
    with pytest.raises(NNJError, match="task.headline: 'f1' is the positive class's F1, for two classes"):
        Classification.from_config(ClassificationTask(headline="f1"), three.info, three)


def test_an_imbalanced_headline_says_why_it_is_not_accuracy():
    s = summary(metric="roc_auc", train=0.90, val=0.86, test=0.86, counts=[880, 120],
                baselines={"majority class": 0.5, "logistic regression": 0.84}, extra_test={"accuracy": 0.905},
                sizes=(3000, 1000, 1000))
    s["baselines"]["majority class"]["accuracy"] = 0.88
    first = write_conclusion(s)[0]
    assert first == ("88% of the held-out rows are one class ('no'): accuracy would reward always answering it "
                     "(that alone scores 0.880), so the headline is roc_auc; mlp's test accuracy is 0.905 beside it.")


def test_accuracy_chosen_on_imbalanced_data_says_what_it_hides():
    s = summary(train=0.90, val=0.89, test=0.89, counts=[880, 120], extra_test={"balanced_accuracy": 0.61},
                sizes=(3000, 1000, 1000))
    first = write_conclusion(s)[0]
    assert first == ("88% of the held-out rows are one class ('no'): accuracy rewards always answering it "
                     "(that alone scores 0.880); mlp's balanced_accuracy 0.610 says more.")


def test_balanced_data_gets_no_imbalance_sentence():
    s = summary(train=0.90, val=0.89, test=0.89, counts=[600, 400])
    assert "one class" not in text(s)


def test_summary_facts_for_the_conclusion(tmp_path):
    """A run's summary carries what the conclusion reads: split sizes, class counts, curves."""
    from nnjournal.journal.entry import learning_curves, split_facts
    from nnjournal.training.history import History

    facts = split_facts(_bundle([0] * 88 + [1] * 12))
    assert facts == {"sizes": {"train": 100, "val": 100, "test": 100},
                     "class_counts": {"train": [88, 12], "val": [88, 12], "test": [88, 12]}}
    h = History(records=[{"epoch": 1, "train_loss": 0.5, "val_loss": 0.6}, {"epoch": 2, "train_loss": 0.4, "val_loss": 0.5}])

    class R:
        history = h

    assert learning_curves({"mlp": R()}) == {"mlp": {"train_loss": [0.5, 0.4], "val_loss": [0.6, 0.5]}}
    assert np.isclose(sum(facts["class_counts"]["test"]), 100)

"""The `[evaluation]`, `[study]` and `[journal]` sections."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from nnjournal.config.base import Strict


class ThresholdConfig(Strict):
    """Binary classification: the decision threshold chosen on the validation split."""

    objective: Literal["none", "f1", "recall_at_precision"] = Field(
        "none", description="none = 0.5; f1 = max F1; recall_at_precision = max recall at min_precision"
    )
    min_precision: float = Field(0.5, gt=0.0, le=1.0)


Baseline = Literal["dummy", "linear", "boosted", "tuned_boosted", "pca", "filter", "inpainting"]


class EvaluationConfig(Strict):
    baselines: list[Baseline] = Field(
        default_factory=lambda: ["dummy", "linear"],
        description="tuned_boosted = boosted trees tuned by 20 Optuna trials on a fifth of the training rows; "
        "reconstruction tasks: dummy = mean image, pca, filter = median/Gaussian blur, "
        "inpainting = harmonic fill of the corrupted pixels, given their true mask",
    )
    pca_components: int | None = Field(None, ge=1, description="PCA baseline; default: the code size")
    downstream: bool = Field(
        False,
        description="reconstruction: fit logistic regression and gradient boosting on the codes "
        "and on the raw inputs (feature extraction)",
    )
    threshold: ThresholdConfig = Field(default_factory=ThresholdConfig)
    cv: Annotated[int, Field(ge=0)] | Literal["loo"] = Field(
        0,
        description="k > 1: k-fold cross-validation of the whole pipeline (stratified for classes), "
        "preprocessing refitted on every fold; \"loo\" = leave-one-out, for data sets of at most 500 examples",
    )
    permutation_importance: bool = Field(False, description="per-column importance for the network")
    mc_dropout: int = Field(
        0,
        ge=0,
        description="classification with dropout: T stochastic test passes with dropout on (Monte-Carlo "
        "dropout, an implicit ensemble) and their predictive uncertainty; 0 = off",
    )

    @model_validator(mode="after")
    def _cv_needs_two_folds(self) -> EvaluationConfig:
        if self.cv == 1:
            raise ValueError("cv=1 is not cross-validation; use 0 (off), k >= 2 folds or \"loo\"")
        return self

    @property
    def cross_validates(self) -> bool:
        """Whether `cv` asks for cross-validation (k >= 2 folds or leave-one-out)."""
        return self.cv == "loo" or self.cv > 1


class StudyConfig(Strict):
    """A study: many trainings of the recipe's base model, compared in one journal entry.
    Fields left unset take the profile's value (see `nnjournal.studies`)."""

    name: Literal["regularization", "capacity", "gd-regimes", "rnn-gradients", "gradients", "init", "tuning"]
    profile: Literal["quick", "default"] = "default"
    seeds: int | None = Field(None, ge=1, description="trainings per setting, with seeds 0..seeds-1")
    train_size: int | None = Field(None, ge=10, description="training examples kept (small = overfits)")
    epochs: int | None = Field(
        None, ge=1, description="epochs per training; tuning: of its full trainings (default: the recipe's)"
    )
    techniques: list[str] | None = Field(
        None, min_length=1, description="regularization: which techniques to compare"
    )
    workers: int | None = Field(
        None, ge=1, description="processes training settings at once (default: one per CPU core, at most 4)"
    )
    target_accuracy: float | None = Field(
        None, gt=0.0, lt=1.0, description="regularization: validation accuracy for steps-to-target"
    )
    widths: list[Annotated[int, Field(ge=1)]] | None = Field(
        None, min_length=1, description="capacity: hidden widths"
    )
    l2: list[Annotated[float, Field(ge=0.0)]] | None = Field(
        None, min_length=1, description="capacity: L2 strengths"
    )
    # rnn-gradients (issue 12)
    lengths: list[Annotated[int, Field(ge=0)]] | None = Field(
        None, min_length=1, description="rnn-gradients: the delays (time steps to remember across)"
    )
    cells: list[Literal["elman", "lstm", "gru"]] | None = Field(
        None, min_length=1, description="rnn-gradients: the recurrent cells compared"
    )


class JournalConfig(Strict):
    title: str = ""
    aim: str = ""
    plots: bool = True

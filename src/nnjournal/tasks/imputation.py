"""Imputation ("auto filling") of a table's blanks by a masked denoising autoencoder.

The CSV loader encodes the table (numbers standardized, booleans 0/1, categories one-hot; the
target column is not an input). `prepare_data` keeps the value features, marks the file's own
blanks as NaN (read from the missing indicators, so recipes set `data.missing_indicators =
true`) and hides a seeded `task.hide_fraction` of the known cells of every split (MCAR, a raw
column's one-hot group at once). Each training batch hides a fresh random `task.mask_fraction`
of its cells; the network (`model.masked_input = true`: NaN inputs zeroed and flagged) is
scored on those cells only (data/imputation.py::masked_loss). Test metrics and the median /
most-frequent and IterativeImputer baselines: evaluation/imputation.py."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import torch

from nnjournal.data.bundle import DataBundle, DataInfo, Split
from nnjournal.data.filled_table import filled_columns
from nnjournal.data.imputation import (
    BlanksAsNaN,
    ColumnSlot,
    LayoutTensors,
    cells_to_features,
    decode,
    masked_loss,
    value_layout,
)
from nnjournal.errors import NNJError
from nnjournal.evaluation import imputation as scoring
from nnjournal.tasks.base import Deferred, StepOutput, SupervisedTask, mean_times_count
from nnjournal.training.predict import predict_outputs


def gaps_from_indicators(prep: Any, x: np.ndarray) -> np.ndarray:
    """(n, n_columns) bool: the file's own blanks, read from the 0/1 missing indicators."""
    out = np.zeros((len(x), len(prep.columns)), dtype=bool)
    start = 0
    for j, col in enumerate(prep.columns):
        width = len(col.feature_names())
        if col.indicator:
            out[:, j] = x[:, start + width - 1] > 0.5
        start += width
    return out


def hidden_cells(split: Split) -> torch.Tensor:
    """(n, F) bool: the cells hidden on purpose, blank in `x` (what the model is asked to fill)
    and known in `y` (the truth they are scored against)."""
    return torch.isnan(split.x) & ~torch.isnan(split.y)


class Imputation(SupervisedTask):
    name = "imputation"
    headline = "imputed_nrmse"
    data_kind = "classification"  # the loader reads the target column (left out of the inputs) as labels
    directions = {"loss": "min", "imputed_nrmse": "min", "imputed_accuracy": "max"}
    report_metrics = ["imputed_nrmse", "imputed_accuracy"]
    baseline_names = ("dummy", "linear")  # median / most frequent; IterativeImputer

    def __init__(self, info: DataInfo, mask_fraction: float = 0.3, hide_fraction: float = 0.2) -> None:
        self.mask_fraction, self.hide_fraction = mask_fraction, hide_fraction
        self.out_features = int(np.prod(info.input_shape))
        self.layout: list[Any] = []
        self.lt: LayoutTensors | None = None
        self.per_column: dict[str, dict[str, float]] = {}

    @classmethod
    def from_config(cls, section: Any, info: DataInfo, bundle: Any = None) -> Imputation:
        return cls(info, section.mask_fraction, section.hide_fraction)

    # -------------------------------------------------------------- data
    def prepare_data(self, bundle: DataBundle, cfg: Any) -> DataBundle:
        prep = bundle.preprocessing
        if getattr(prep, "kind", None) != "tabular":
            raise NNJError("task.name = 'imputation' fills a table's blanks: it needs data.name = 'csv'")
        m = cfg.model
        if m.name != "autoencoder" or m.kind != "dense" or not m.masked_input:
            raise NNJError(
                "task.name = 'imputation' needs a network that takes blanks: model.name = 'autoencoder', "
                "model.kind = 'dense', model.masked_input = true"
            )
        if cfg.data.missing_indicators is not True:
            # Without an indicator per column a file's blank is filled (median / most frequent /
            # its own category) before the task sees it, then hidden and scored as if it were truth.
            raise NNJError(
                "task.name = 'imputation' needs data.missing_indicators = true: the indicators tell the "
                f"file's own blanks (never scored) from its values; got {cfg.data.missing_indicators!r}"
            )
        self.layout, values = value_layout(prep)
        self.lt = LayoutTensors(self.layout)
        splits: dict[str, Split | None] = {}
        for i, name in enumerate(("train", "val", "test")):
            split = getattr(bundle, name)
            if split is None or not len(split):
                splits[name] = None
                continue
            x = split.x.cpu().numpy()
            v = x[:, values].astype(np.float32)
            v[cells_to_features(gaps_from_indicators(prep, x), self.layout)] = np.nan
            hidden = scoring.hide_cells(~np.isnan(v), self.layout, self.hide_fraction, cfg.seed + 1000 + i)
            # x: what the model is asked to fill (hidden cells NaN); y: the truth (NaN = unknown).
            # Training batches ignore x and hide fresh cells of y each time.
            splits[name] = Split(torch.from_numpy(np.where(hidden, np.nan, v)), torch.from_numpy(v))
        self._choose_headline(splits["test"])
        names = [prep.feature_names[j] for j in values]
        info = replace(bundle.info, input_shape=(len(values),), feature_names=names, class_names=None)
        self.out_features = len(values)
        # Saved with the model: the value features, blanks left NaN (what the network fills).
        saved = replace(
            prep,
            columns=[replace(c, indicator=False) for c in prep.columns],
            imputer=BlanksAsNaN(self.layout, list(range(len(values)))),
        )
        return replace(
            bundle,
            train=splits["train"],
            val=splits["val"],
            test=splits["test"],
            info=info,
            preprocessing=saved,
        )

    def _choose_headline(self, test: Split | None) -> None:
        """Refuse a test split with no hidden known cell (nothing to score); a table without a
        hidden number (categories and yes/no only) leads with the share filled right."""
        hidden = hidden_cells(test).numpy() if test is not None else None
        scored = {s.kind for s in self.layout if hidden is not None and s.features and hidden[:, s.features[0]].any()}
        if not scored:
            raise NNJError(
                f"task.hide_fraction = {self.hide_fraction:g} hides no known cell of the test rows: nothing "
                "would be scored; raise task.hide_fraction (the recipe's 0.2) or give more rows"
            )
        if "numeric" not in scored:
            self.headline = "imputed_accuracy"

    # -------------------------------------------------------------- the step
    def training_step(self, model: torch.nn.Module, batch: Split, state: Any = None) -> StepOutput:
        assert self.lt is not None
        truth = batch.y
        hidden = self.lt.random_hidden(len(truth), self.mask_fraction, truth.device) & ~torch.isnan(truth)
        out = model(truth.masked_fill(hidden, float("nan")))
        loss = masked_loss(out.recon, truth, hidden, self.lt) + out.penalty.mean()
        n = len(truth)
        return StepOutput(loss, {"loss": Deferred(mean_times_count, (loss.detach(), n))}, n)

    @torch.no_grad()
    def evaluation_step(self, model: torch.nn.Module, batch: Split) -> StepOutput:
        assert self.lt is not None
        loss = masked_loss(model(batch.x).recon, batch.y, hidden_cells(batch), self.lt).double()
        return StepOutput(loss, {"loss": loss * len(batch.y)}, len(batch.y))

    def loss(self, outputs: Any, targets: torch.Tensor) -> torch.Tensor:  # the step is the task's own
        raise NotImplementedError

    def predict(self, outputs: Any) -> np.ndarray:
        """Every cell as the network fills it, in encoded units: standardized numbers, 0/1
        booleans, one-hot categories (`nnj predict` on rows with blanks)."""
        return decode(outputs.recon.detach().float().cpu().numpy(), self.layout, logits=True)

    def filled_table(
        self, outputs: Any, columns: dict[str, list[str]], prep: Any
    ) -> tuple[dict[str, list[str]], int]:
        """What `nnj predict` writes for a table with blanks: every column as read, each blank
        cell filled in the column's own terms (data/filled_table.py); and how many were filled."""
        recon = outputs.recon.detach().float().cpu().numpy()
        return filled_columns(columns, prep.columns, self.layout, recon)

    def fitted(self) -> dict[str, Any]:
        return {"layout": [[s.name, s.kind, list(s.features)] for s in self.layout]}

    def restore(self, fitted: dict[str, Any]) -> None:
        self.layout = [ColumnSlot(n, k, tuple(f)) for n, k, f in fitted["layout"]]
        self.lt = LayoutTensors(self.layout)

    # -------------------------------------------------------------- evaluation
    def filled(self, model: torch.nn.Module, x: torch.Tensor) -> np.ndarray:
        raw = predict_outputs(model, x).recon.float().cpu().numpy()
        xn = x.cpu().numpy()
        return np.where(np.isnan(xn), decode(raw, self.layout, logits=True), xn)

    def _scores(self, filled: np.ndarray, split: Split, key: str | None = None) -> dict[str, float]:
        hidden = hidden_cells(split).cpu().numpy()
        metrics, per = scoring.imputation_scores(filled, split.y.cpu().numpy(), hidden, self.layout)
        if key is not None:
            self.per_column[key] = per
        metrics.pop("hidden_cells")
        return metrics

    def evaluate(self, model: torch.nn.Module, split: Split) -> dict[str, float]:
        metrics = self._scores(self.filled(model, split.x), split)
        out = self.evaluation_step(model, split)
        return {"loss": float(out.loss), **metrics}

    def finish(self, result: Any, cfg: Any) -> None:
        self._scores(self.filled(result.model, result.bundle.test.x), result.bundle.test, "network")

    # -------------------------------------------------------------- the journal's hooks
    def baselines(self, bundle: DataBundle, cfg: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        """Median / most frequent (`dummy`) and IterativeImputer (`linear`), fitted on the
        training rows' known values, on the same hidden test cells."""
        wanted = set(cfg.evaluation.baselines)
        if not wanted & {"dummy", "linear"}:
            return {}, {}
        # the encoding's own fill of a blank (the saved preprocessing leaves blanks NaN)
        fill = scoring.blank_fill(replace(bundle.preprocessing, imputer=None), list(range(self.out_features)))
        fills = scoring.baseline_fills(
            bundle.train.y.numpy(),
            bundle.test.x.numpy(),
            fill,
            self.layout,
            cfg.seed,
            iterative="linear" in wanted,
        )
        if "dummy" not in wanted:
            fills.pop(scoring.MEDIAN)
        return {}, {name: self._scores(f, bundle.test, name) for name, f in fills.items()}

    def summary_extras(self, result: Any) -> dict[str, Any]:
        return {
            "imputation": {
                "hide_fraction": self.hide_fraction,
                "mask_fraction": self.mask_fraction,
                "hidden_test_cells": int(hidden_cells(result.bundle.test).sum()),
                "per_column": self.per_column,
            }
        }

    def conclusion(self, summary: dict[str, Any]) -> list[str]:
        lines = []
        for name, v in summary["variants"].items():
            lines += scoring.comparison_sentence(v["test"], summary.get("baselines", {}), name)
        return lines

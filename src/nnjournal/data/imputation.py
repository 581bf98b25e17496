"""Filling the blanks of an encoded table ("auto filling"): a masked denoising autoencoder and
scikit-learn's `IterativeImputer`, both working on the encoded columns (numbers standardized,
booleans 0/1, categories one-hot), with the blanks as NaN.

The layout says which encoded features belong to which raw column, so a blank hides a whole
one-hot group at once, a category is filled by the argmax of its group and a yes/no by a
threshold. Fitted imputers are saved as JSON with the model (`to_dict`, `imputer_from_dict`):
the autoencoder's weights as lists, the iterative imputer's chain of linear models as
coefficients replayed exactly as scikit-learn's `transform` runs them (tests/test_tabular_imputation.py).

`data.imputer = "autoencoder" | "iterative"` fits one on the training rows in the CSV loader
(`data/tabular.py`); the `imputation` task trains the same masked network through the normal
trainer and compares it with both baselines on values hidden on purpose."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

KINDS = ("numeric", "boolean", "categorical")


@dataclass(frozen=True)
class ColumnSlot:
    """One raw column's features among the value features (indicators left out)."""

    name: str
    kind: str  # numeric | boolean | categorical
    features: tuple[int, ...]


def value_layout(prep: Any) -> tuple[list[ColumnSlot], list[int]]:
    """(the raw columns' slots, the encoded indices of the value features) of a fitted
    `TabularPreprocessing`: every encoded feature but the 0/1 missing indicators."""
    slots: list[ColumnSlot] = []
    values: list[int] = []
    start = 0
    for col in prep.columns:
        width = len(col.feature_names())
        n_values = width - (1 if col.indicator else 0)
        kind = "numeric" if col.kind == "date" else col.kind  # a date's features are numbers to fill
        slots.append(ColumnSlot(col.name, kind, tuple(range(len(values), len(values) + n_values))))
        values.extend(range(start, start + n_values))
        start += width
    return slots, values


def feature_columns(layout: list[ColumnSlot]) -> np.ndarray:
    """(n_features,) the raw column each value feature belongs to."""
    out = np.empty(sum(len(s.features) for s in layout), dtype=np.int64)
    for j, s in enumerate(layout):
        out[list(s.features)] = j
    return out


def cells_to_features(cells: np.ndarray, layout: list[ColumnSlot]) -> np.ndarray:
    """(n, n_columns) bool per raw cell -> (n, n_features) bool per encoded feature."""
    return cells[:, feature_columns(layout)]


def decode(raw: np.ndarray, layout: list[ColumnSlot], logits: bool) -> np.ndarray:
    """Raw outputs (n, F) -> valid encoded values: numbers as they are, a boolean 0/1 (logit > 0,
    or value > 0.5), a category the one-hot of its group's argmax."""
    out = np.array(raw, dtype=np.float32, copy=True)
    for s in layout:
        idx = list(s.features)
        if s.kind == "boolean":
            out[:, idx] = (raw[:, idx] > (0.0 if logits else 0.5)).astype(np.float32)
        elif s.kind == "categorical" and idx:
            hot = np.zeros((len(raw), len(idx)), dtype=np.float32)
            hot[np.arange(len(raw)), np.argmax(raw[:, idx], axis=1)] = 1.0
            out[:, idx] = hot
    return out


class LayoutTensors:
    """The layout as index tensors, so the masked loss is a few vectorised operations."""

    def __init__(self, layout: list[ColumnSlot]) -> None:
        self.layout = layout
        self.n_columns = len(layout)
        self.feature_col = torch.from_numpy(feature_columns(layout))
        pick = [[f for s in layout if s.kind == k for f in s.features] for k in ("numeric", "boolean")]
        self.numeric = torch.tensor(pick[0], dtype=torch.long)
        self.boolean = torch.tensor(pick[1], dtype=torch.long)
        groups = [list(s.features) for s in layout if s.kind == "categorical" and s.features]
        width = max((len(g) for g in groups), default=1)
        # (n_cat, width) feature indices, -1 padding for groups with fewer categories
        self.cat = torch.tensor([g + [-1] * (width - len(g)) for g in groups] or [[-1]], dtype=torch.long)
        self.n_cat = len(groups)

    def random_hidden(self, n: int, fraction: float, device: torch.device | str = "cpu") -> torch.Tensor:
        """(n, F) bool: each raw cell hidden with probability `fraction` (global torch RNG)."""
        cells = torch.rand(n, self.n_columns, device=device) < fraction
        return cells[:, self.feature_col.to(device)]


def masked_loss(
    out: torch.Tensor, target: torch.Tensor, hidden: torch.Tensor, lt: LayoutTensors
) -> torch.Tensor:
    """Mean loss per hidden cell: squared error for numbers (standardized units), binary
    cross-entropy on a boolean's logit, cross-entropy over a category's one-hot group.
    `hidden` (n, F) marks the cells to score; their `target` values must be known."""
    dev = out.device
    total = out.new_zeros(())
    cells = out.new_zeros(())
    safe = torch.nan_to_num(target)
    if len(lt.numeric):
        idx = lt.numeric.to(dev)
        h = hidden[:, idx]
        total = total + ((out[:, idx] - safe[:, idx]).pow(2) * h).sum()
        cells = cells + h.sum()
    if len(lt.boolean):
        idx = lt.boolean.to(dev)
        h = hidden[:, idx]
        bce = F.binary_cross_entropy_with_logits(out[:, idx], safe[:, idx], reduction="none")
        total = total + (bce * h).sum()
        cells = cells + h.sum()
    if lt.n_cat:
        cat = lt.cat.to(dev)
        pad = cat < 0
        logits = out[:, cat.clamp(min=0)].masked_fill(pad, float("-inf"))  # (n, n_cat, width)
        labels = safe[:, cat.clamp(min=0)].masked_fill(pad, -1.0).argmax(dim=2)
        ce = F.cross_entropy(logits.flatten(0, 1), labels.flatten(), reduction="none").view(labels.shape)
        h = hidden[:, cat[:, 0]]
        total = total + (ce * h).sum()
        cells = cells + h.sum()
    return total / cells.clamp(min=1)


# ---------------------------------------------------------------------------- fitted imputers
class TableImputer:
    """A fitted imputer of value features; `fill_table` works on the full encoded matrix
    (indicators included) with the raw columns' gap mask, as `TabularPreprocessing` holds it."""

    kind = "none"

    def __init__(self, layout: list[ColumnSlot], values: list[int]) -> None:
        self.layout, self.values = layout, values

    def fill(self, v: np.ndarray) -> np.ndarray:
        """(n, F) value features with NaN at the gaps -> the same with every NaN filled."""
        raise NotImplementedError

    def fill_table(self, x: np.ndarray, gap_cells: np.ndarray) -> np.ndarray:
        if not gap_cells.any():
            return x
        v = x[:, self.values].astype(np.float32)
        hidden = cells_to_features(gap_cells, self.layout)
        v[hidden] = np.nan
        out = x.copy()
        out[:, self.values] = np.where(hidden, self.fill(v), v)
        return out

    def _base_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "layout": [[s.name, s.kind, list(s.features)] for s in self.layout],
            "values": list(self.values),
        }


def _layout_from(d: dict[str, Any]) -> tuple[list[ColumnSlot], list[int]]:
    return [ColumnSlot(n, k, tuple(f)) for n, k, f in d["layout"]], list(d["values"])


@dataclass(frozen=True)
class AutoencoderSettings:
    """The pipeline's autoencoder imputer: small and fixed, since it is preprocessing (the
    `imputation` recipe is where its size and masking rate are studied)."""

    hidden: tuple[int, ...] = (128,)
    code_size: int = 64
    mask_fraction: float = 0.3
    epochs: int = 60
    batch_size: int = 128
    lr: float = 3e-3
    weight_decay: float = 1e-5


class AutoencoderImputer(TableImputer):
    """A masked denoising autoencoder (`MaskedMLP`) trained on the training rows with a
    random fraction of their cells hidden per batch, the loss on those cells."""

    kind = "autoencoder"

    def __init__(
        self, layout: list[ColumnSlot], values: list[int], settings: AutoencoderSettings | None = None
    ):
        super().__init__(layout, values)
        self.settings = settings or AutoencoderSettings()
        self.net = build_masked_net(len(values), self.settings.hidden, self.settings.code_size)

    def fit(self, v: np.ndarray, seed: int) -> AutoencoderImputer:
        s = self.settings
        x = torch.from_numpy(np.asarray(v, dtype=np.float32))
        known = ~torch.isnan(x)
        lt = LayoutTensors(self.layout)
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            self.net = build_masked_net(x.shape[1], s.hidden, s.code_size)
            opt = torch.optim.AdamW(self.net.parameters(), lr=s.lr, weight_decay=s.weight_decay)
            self.net.train()
            for _ in range(s.epochs):
                for idx in torch.randperm(len(x)).split(s.batch_size):
                    xb, kb = x[idx], known[idx]
                    hidden = lt.random_hidden(len(idx), s.mask_fraction) & kb
                    out = self.net(xb.masked_fill(hidden, float("nan")))
                    loss = masked_loss(out, xb, hidden, lt)
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
        self.net.eval()
        return self

    def fill(self, v: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            raw = self.net(torch.from_numpy(np.asarray(v, dtype=np.float32))).numpy()
        return np.where(np.isnan(v), decode(raw, self.layout, logits=True), v)

    def to_dict(self) -> dict[str, Any]:
        s = self.settings
        return {
            **self._base_dict(),
            "hidden": list(s.hidden),
            "code_size": s.code_size,
            "state": {k: t.tolist() for k, t in self.net.state_dict().items()},
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AutoencoderImputer:
        layout, values = _layout_from(d)
        imp = cls(layout, values, AutoencoderSettings(hidden=tuple(d["hidden"]), code_size=d["code_size"]))
        imp.net.load_state_dict({k: torch.tensor(t, dtype=torch.float32) for k, t in d["state"].items()})
        imp.net.eval()
        return imp


class MaskedMLP(torch.nn.Module):
    """The pipeline imputer's network: (values with NaN zeroed, 0/1 gap flags) -> hidden ->
    code -> hidden -> the values, ReLU between, linear out. The same input convention and
    shape as `model.masked_input` (models/masked_autoencoder.py), built here because the data
    package may not import the models package (which imports it)."""

    def __init__(self, n_features: int, hidden: tuple[int, ...], code_size: int) -> None:
        super().__init__()
        sizes = [2 * n_features, *hidden, code_size, *reversed(hidden), n_features]
        layers: list[torch.nn.Module] = []
        for a, b in zip(sizes[:-1], sizes[1:], strict=True):
            layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
        self.net = torch.nn.Sequential(*layers[:-1])  # no ReLU on the output

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gap = torch.isnan(x)
        return self.net(torch.cat([x.masked_fill(gap, 0.0), gap.to(x.dtype)], dim=1))


def build_masked_net(n_features: int, hidden: tuple[int, ...], code_size: int) -> torch.nn.Module:
    return MaskedMLP(n_features, hidden, code_size)


class IterativeTableImputer(TableImputer):
    """scikit-learn's `IterativeImputer` (BayesianRidge chain, mean start) on the encoded
    columns, by default (`drop_first`) a category's one-hot group less its first level: with
    every level present, a hidden level is exactly 1 minus its (also hidden, mean-started)
    siblings, the chain puts its weight there and hardly leaves the mean start (a colour set
    by x1 filled 31% right with all levels, 74% without the first; tests/test_tabular_imputation.py).
    The dropped level scores 1 - the others; the group's argmax is taken, a boolean
    thresholded at 0.5. Kept as its chain of linear models, replayed."""

    kind = "iterative"

    def __init__(
        self, layout: list[ColumnSlot], values: list[int], max_iter: int = 10, drop_first: bool = True
    ) -> None:
        super().__init__(layout, values)
        self.max_iter = max_iter
        self.dropped = [s for s in layout if drop_first and s.kind == "categorical" and len(s.features) > 1]
        first = {s.features[0] for s in self.dropped}
        self.kept = [f for f in range(len(values)) if f not in first]  # the features the chain sees
        self.start = np.zeros(len(self.kept))
        self.chain: list[tuple[int, list[int], list[float], float]] = []

    def fit(self, v: np.ndarray, seed: int) -> IterativeTableImputer:
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.experimental import enable_iterative_imputer  # noqa: F401
        from sklearn.impute import IterativeImputer

        sk = IterativeImputer(max_iter=self.max_iter, random_state=seed, keep_empty_features=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            sk.fit(np.asarray(v, dtype=np.float64)[:, self.kept])
        self.start = np.asarray(sk.initial_imputer_.statistics_, dtype=np.float64)
        self.chain = [
            (
                int(t.feat_idx),
                [int(i) for i in t.neighbor_feat_idx],
                t.estimator.coef_.tolist(),
                float(t.estimator.intercept_),
            )
            for t in sk.imputation_sequence_
        ]
        self.sklearn_ = sk  # kept in memory for the replay test; not saved
        return self

    def fill_raw(self, v: np.ndarray) -> np.ndarray:
        """scikit-learn's transform: the mean start, then each link's prediction of its
        feature's gaps from the current values of its neighbours, in order."""
        full = np.asarray(v, dtype=np.float64)
        v = full[:, self.kept]
        gaps = np.isnan(v)
        x = np.where(gaps, self.start[None, :], v)
        if gaps.any():
            for feat, neighbours, coef, intercept in self.chain:
                rows = gaps[:, feat]
                if rows.any():
                    x[rows, feat] = x[np.ix_(rows, neighbours)] @ np.asarray(coef) + intercept
        out = full.copy()
        out[:, self.kept] = x
        for s in self.dropped:
            out[:, s.features[0]] = 1.0 - out[:, list(s.features[1:])].sum(axis=1)
        return out

    def fill(self, v: np.ndarray) -> np.ndarray:
        return np.where(np.isnan(v), decode(self.fill_raw(v), self.layout, logits=False), v)

    def to_dict(self) -> dict[str, Any]:
        return {
            **self._base_dict(),
            "drop_first": bool(self.dropped),
            "kept": self.kept,
            "start": self.start.tolist(),
            "chain": [list(c) for c in self.chain],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> IterativeTableImputer:
        imp = cls(*_layout_from(d), drop_first=d["drop_first"])
        imp.kept = list(d["kept"])
        imp.start = np.asarray(d["start"], dtype=np.float64)
        imp.chain = [(int(f), list(n), list(c), float(b)) for f, n, c, b in d["chain"]]
        return imp


class BlanksAsNaN(TableImputer):
    """Leaves every blank as NaN: the preprocessing saved with an `imputation` model, whose
    network takes NaN for "fill this" (`nnj predict` then returns the filled rows)."""

    kind = "blank"

    def fill(self, v: np.ndarray) -> np.ndarray:
        return v

    def to_dict(self) -> dict[str, Any]:
        return self._base_dict()

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BlanksAsNaN:
        return cls(*_layout_from(d))


IMPUTERS: dict[str, type[TableImputer]] = {
    "autoencoder": AutoencoderImputer,
    "iterative": IterativeTableImputer,
    "blank": BlanksAsNaN,
}


def fit_table_imputer(name: str, prep: Any, x: np.ndarray, gap_cells: np.ndarray, seed: int) -> TableImputer:
    """Fit `data.imputer = name` on the encoded training rows `x` (gaps filled by the
    encoding) with `gap_cells` (n, n_columns) marking the blanks."""
    layout, values = value_layout(prep)
    v = x[:, values].astype(np.float32)
    v[cells_to_features(gap_cells, layout)] = np.nan
    return IMPUTERS[name](layout, values).fit(v, seed)  # type: ignore[call-arg,attr-defined]


def imputer_from_dict(d: dict[str, Any]) -> TableImputer:
    return IMPUTERS[d["kind"]].from_dict(d)  # type: ignore[attr-defined]

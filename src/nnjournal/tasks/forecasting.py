"""Forecasting: a window of a series -> the next `horizon` values.

The network trains on the transformed series (scaled, optionally log and seasonally
differenced) with mean squared error; everything reported is in the series' own units,
after `SeriesTransform.inverse`, so the RMSE reads in passengers and compares directly with
persistence, seasonal naive, Holt-Winters and SARIMA.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from nnjournal.data.timeseries import ForecastSplit, SeriesData, SeriesTransform
from nnjournal.errors import NNJError
from nnjournal.tasks.base import Direction, SupervisedTask
from nnjournal.tasks.step_check import FirstStepCheck, wrong_data
from nnjournal.training.predict import evaluation_mode


class Forecasting(FirstStepCheck, SupervisedTask):
    """Model called as `model(x (B, W)) -> (B, horizon)`; MSE over every forecast value."""

    name = "forecasting"
    headline = "rmse"
    directions: dict[str, Direction] = {"loss": "min", "rmse": "min", "mae": "min", "mape": "min",
                                        "rmse_scaled": "min"}

    data_kind = "regression"

    def __init__(self, data: SeriesData | None, horizon: int | None = None, section: Any = None) -> None:
        # data: the transform and the original series, to report in real units; a saved model
        # (no data) gets its fitted transform back through `restore`.
        self.data, self.section = data, section
        self.transform: SeriesTransform | None = data.transform if data is not None else None
        self.columns = data.columns if data is not None else None  # (date, value) read in training
        self.horizon = data.test.y.shape[1] if data is not None else int(horizon or 1)
        self.out_features = self.horizon
        steps = {f"rmse_h{k + 1}": "min" for k in range(self.horizon)} if self.horizon > 1 else {}
        self.directions = {**Forecasting.directions, **steps}

    @classmethod
    def from_config(cls, section: Any, info: Any, bundle: Any = None) -> Forecasting:
        data = bundle.source if bundle is not None else None
        if bundle is not None and not isinstance(data, SeriesData):
            raise wrong_data("forecasting", "a time series (data.name = 'timeseries')", info)
        return cls(data, horizon=info.horizon, section=section)

    @property
    def report_metrics(self) -> list[str]:
        return ["rmse", "mae", "mape", *(k for k in self.directions if k.startswith("rmse_h"))]

    def baselines(self, bundle: Any, cfg: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        from nnjournal.tasks.recurrent_journal import forecast_baselines

        return forecast_baselines(self, bundle, getattr(self.section, "sarima", True))

    def plots(self, run_dir: Any, results: dict[str, Any], context: dict[str, Any]) -> list[dict[str, str]]:
        from nnjournal.tasks.recurrent_journal import forecast_plots

        return forecast_plots(run_dir, results, context.get("fitted_baselines", {}))

    def conclusion(self, summary: dict[str, Any]) -> list[str]:
        from nnjournal.tasks.recurrent_journal import forecast_conclusion

        return forecast_conclusion(summary)

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(outputs, targets)

    def fitted(self) -> dict[str, Any]:
        """The series transform fitted on the training part (log, seasonal lag, scaling), so a
        saved forecaster maps a user's series into the network's units and back."""
        if self.transform is None:
            return {}
        columns = {"date": self.columns[0], "value": self.columns[1]} if self.columns else None
        return {"transform": self.transform.to_dict(), **({"columns": columns} if columns else {})}

    def restore(self, fitted: dict[str, Any]) -> None:
        if "transform" in fitted:
            self.transform = SeriesTransform.from_dict(fitted["transform"])
        if isinstance(fitted.get("columns"), dict):  # (older model files: the first two columns)
            self.columns = (str(fitted["columns"]["date"]), str(fitted["columns"]["value"]))

    @torch.no_grad()
    def forecast(self, model: torch.nn.Module, values: np.ndarray, window: int) -> np.ndarray:
        """(horizon,) the next values after the end of `values` (a series in its own units,
        oldest first), through the transform the network was trained with and back."""
        if self.transform is None:
            raise NNJError("this forecaster was saved without its series transform: re-run the recipe")
        values = np.asarray(values, dtype=np.float64)
        x = torch.as_tensor(self.transform.last_window(values, window), dtype=torch.float32)[None]
        with evaluation_mode(model) as device:
            z = model(x.to(device)).float().cpu().numpy()
        return self.transform.inverse(z, np.array([len(values) - 1]), values)[0]

    @torch.no_grad()
    def predict_scaled(self, model: torch.nn.Module, split: ForecastSplit) -> np.ndarray:
        """(n, horizon) forecasts as the network outputs them (transformed units)."""
        with evaluation_mode(model) as device:
            return model(split.x.to(device)).float().cpu().numpy()

    def predict(self, model: torch.nn.Module, split: ForecastSplit) -> np.ndarray:
        """(n, horizon) forecasts in the series' units."""
        return self.data.to_original(self.predict_scaled(model, split), split)

    def evaluate(self, model: torch.nn.Module, split: ForecastSplit) -> dict[str, float]:
        z = self.predict_scaled(model, split)
        out = self.metrics_from(self.data.to_original(z, split), self.data.targets(split))
        out["rmse_scaled"] = float(np.sqrt(np.mean((z - split.y.cpu().numpy()) ** 2)))
        return out

    def metrics_from(self, pred: np.ndarray, target: np.ndarray) -> dict[str, float]:
        """RMSE, MAE and MAPE in original units over every (origin, step) pair, and the RMSE
        of each horizon step (errors grow with the distance from the origin). Baselines'
        forecasts go through the same function."""
        err = pred - target  # (n, horizon)
        out = {
            "rmse": float(np.sqrt(np.mean(err**2))),
            "mae": float(np.mean(np.abs(err))),
            "mape": float(np.mean(np.abs(err) / np.abs(target)) * 100),
        }
        if err.shape[1] > 1:
            for k in range(err.shape[1]):
                out[f"rmse_h{k + 1}"] = float(np.sqrt(np.mean(err[:, k] ** 2)))
        return out

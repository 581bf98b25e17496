"""MLflow for `training.loggers`: one MLflow run per journal entry, named after the run
folder, in the experiment `training.experiment_name` (default: the recipe); a run with
several variants gets a parent run and one nested run per variant. Params are the resolved
config (`training.optimizer.lr`), metrics the epoch records (step = epoch) and the test
metrics (`test_accuracy`), artifacts the entry's files.

The store is `training.tracking_uri`, else `$MLFLOW_TRACKING_URI`, else one SQLite database
beside the run folders, `OUT/mlflow.db`, with artifacts in `OUT/mlartifacts`: MLflow 3
defaults to SQLite and refuses its file store (`./mlruns`) unless told otherwise, and one
database for the folder lets `mlflow ui --backend-store-uri sqlite:///runs/mlflow.db`
compare the runs, at the cost of one schema set-up per folder rather than per run (~8 s
measured on a loaded 2-core machine)."""

from __future__ import annotations

import logging
import os
import re
import time
from pathlib import Path
from typing import Any

import numpy as np
from mlflow.entities import Metric, Param
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID, MLFLOW_RUN_NAME

from nnjournal.errors import NNJError

# Each write is a database transaction (~30 ms on a loaded machine): a run of 1,000 tiny
# epochs spent a minute logging them one by one, so epochs are sent at most every FLUSH_S.
FLUSH_S = 5.0
MAX_PARAM_LENGTH = 6000  # MLflow refuses longer values; config.toml (an artifact) has them whole
# The probe asks once, briefly: MLflow otherwise retries an unreachable server for minutes.
PROBE_ENV = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "10"}
_NOT_A_KEY = re.compile(r"[^\w\-. /]")  # MLflow keys: alphanumerics, _ - . space /


def tracking_uri(cfg: Any, run_dir: Path) -> str:
    """The tracking URI a run logs to."""
    return _given_uri(cfg.training) or f"sqlite:///{(run_dir.parent / 'mlflow.db').resolve()}"


def _given_uri(training: Any) -> str | None:
    return training.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or None


def check_tracking_uri(training: Any) -> None:
    """One request to a tracking URI the user gave, before the run starts: an unknown scheme,
    a database that cannot be opened or a server that does not answer would otherwise fail
    after training (a server after minutes of MLflow's retries). The default store is made
    with the run folder, so it is not probed."""
    uri = _given_uri(training)
    if uri is None:
        return
    where = "training.tracking_uri" if training.tracking_uri else "$MLFLOW_TRACKING_URI"
    saved = {k: os.environ.get(k) for k in PROBE_ENV}
    os.environ.update(PROBE_ENV)
    try:
        MlflowClient(tracking_uri=uri).search_experiments(max_results=1)
    except Exception as err:  # noqa: BLE001 - MLflow, SQLAlchemy and HTTP errors alike: the URI is the user's
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise NNJError(f"{where} = {uri!r} cannot be used: {first[:300]}; give a server URL or sqlite:///FILE.db") from None
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class MlflowRun:
    def __init__(
        self, cfg: Any, run_dir: Path, *, nested: bool, params: dict[str, Any], resume: bool = False
    ) -> None:
        uri = tracking_uri(cfg, run_dir)
        artifacts = None if _given_uri(cfg.training) else (run_dir.parent / "mlartifacts").resolve().as_uri()
        # The first use of a database runs MLflow's schema migrations, which log at INFO.
        for name in ("mlflow", "alembic"):
            logging.getLogger(name).setLevel(logging.WARNING)
        self.client = MlflowClient(tracking_uri=uri)
        self.experiment_id = _experiment(self.client, cfg.training.experiment_name or cfg.recipe, artifacts)
        self.tags = {"nnjournal.recipe": cfg.recipe, "nnjournal.run_dir": str(run_dir.resolve())}
        self.resume = resume
        self.run_id = self._create(run_dir.name, {"nnjournal.part": "run"})
        self.nested = nested
        if nested:  # the base recipe on the parent, each variant's resolved config on its child
            MlflowSink(self.client, self.run_id, own_run=False).params(params)

    def _create(self, name: str, tags: dict[str, str]) -> str:
        """A new MLflow run; on `nnj run --resume`, the one the interrupted run opened, so a
        resumed entry stays one MLflow run whose epochs continue."""
        tags = {**self.tags, **tags}
        if self.resume:
            query = " and ".join(f"tags.`{k}` = '{v}'" for k, v in tags.items() if "'" not in v)
            try:
                found = self.client.search_runs([self.experiment_id], query, max_results=1)
            except MlflowException:  # a tag the search cannot express: start a new run
                found = []
            if found:
                self.client.update_run(found[0].info.run_id, status="RUNNING")
                return found[0].info.run_id
        return self.client.create_run(self.experiment_id, run_name=name, tags=tags).info.run_id

    def variant(self, name: str) -> MlflowSink:
        if not self.nested:
            return MlflowSink(self.client, self.run_id, own_run=False)
        child = self._create(
            name, {MLFLOW_PARENT_RUN_ID: self.run_id, "nnjournal.part": "variant", "nnjournal.variant": name}
        )
        return MlflowSink(self.client, child, own_run=True)

    def finish(self, files: dict[str, Path]) -> None:
        _log_files(self.client, self.run_id, files)

    def close(self, status: str) -> None:
        self.client.set_terminated(self.run_id, status)


class MlflowSink:
    histograms = False  # MLflow has no histograms; the statistics arrive as scalars

    def __init__(self, client: MlflowClient, run_id: str, *, own_run: bool) -> None:
        self.client, self.run_id, self.own_run = client, run_id, own_run
        self.step = 0
        self.pending: list[Metric] = []
        self.sent = time.monotonic()

    def params(self, flat: dict[str, Any]) -> None:
        params = [Param(k, str(v)[:MAX_PARAM_LENGTH]) for k, v in flat.items() if k != MLFLOW_RUN_NAME]
        self.client.log_batch(self.run_id, params=params)  # the client sends them 100 at a time

    def epoch(self, step: int, scalars: dict[str, float], histograms: dict[str, np.ndarray]) -> None:
        now = int(time.time() * 1000)
        self.pending += [Metric(_key(k), v, now, step) for k, v in scalars.items()]
        self.step = step
        if time.monotonic() - self.sent >= FLUSH_S:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.client.log_batch(self.run_id, metrics=self.pending)  # sent 1,000 at a time
        self.pending, self.sent = [], time.monotonic()

    def finish(self, metrics: dict[str, float], files: dict[str, Path]) -> None:
        now = int(time.time() * 1000)
        self.pending += [Metric(_key(k), v, now, self.step) for k, v in metrics.items()]
        self.flush()
        _log_files(self.client, self.run_id, files)

    def close(self, status: str) -> None:
        self.flush()  # what a failed run logged before it failed
        if self.own_run:
            self.client.set_terminated(self.run_id, status)


def _experiment(client: MlflowClient, name: str, artifacts: str | None) -> str:
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    try:
        return client.create_experiment(name, artifact_location=artifacts)
    except MlflowException:  # created meanwhile by a run in another process
        found = client.get_experiment_by_name(name)
        if found is None:
            raise
        return found.experiment_id


def _log_files(client: MlflowClient, run_id: str, files: dict[str, Path]) -> None:
    for rel, path in files.items():
        folder = str(Path(rel).parent)
        client.log_artifact(run_id, str(path), None if folder == "." else folder)


def _key(name: str) -> str:
    return _NOT_A_KEY.sub("_", name)

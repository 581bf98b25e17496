"""Experiment trackers (`training.loggers`): what a run sends to TensorBoard and MLflow, read
back from the event files and the local MLflow store, and that a run without loggers never
imports either package."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from importlib.util import find_spec
from pathlib import Path

import pytest
from helpers import nnj

from nnjournal import experiment

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
needs_trackers = pytest.mark.skipif(
    find_spec("tensorboard") is None or find_spec("mlflow") is None,
    reason="needs the tracker extras: pip install -e '.[tensorboard,mlflow]'",
)

EPOCHS = 4
# Activation and gradient statistics on, so the epoch records carry per-layer numbers.
OVERRIDES = [
    f"training.epochs={EPOCHS}",
    "training.log_grad_norms=true",
    "training.log_activation_stats=true",
    "journal.plots=false",
]
BOTH = 'training.loggers=["tensorboard", "mlflow"]'


@pytest.fixture(scope="module")
def tracked(tmp_path_factory: pytest.TempPathFactory) -> experiment.RunResult:
    out = tmp_path_factory.mktemp("tracked")
    return experiment.run("digits-mlp", [*OVERRIDES, BOTH], out=out)


def _records(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]


def _events(folder: Path):  # noqa: ANN202
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(folder), size_guidance={"scalars": 0, "histograms": 0, "tensors": 0})
    acc.Reload()
    return acc


def _client(run_dir: Path):  # noqa: ANN202
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=f"sqlite:///{run_dir.parent / 'mlflow.db'}")


def _runs(run_dir: Path, experiment_name: str):
    client = _client(run_dir)
    exp = client.get_experiment_by_name(experiment_name)
    assert exp is not None
    return client, client.search_runs([exp.experiment_id], f"tags.`nnjournal.run_dir` = '{run_dir.resolve()}'")


@needs_trackers
def test_tensorboard_has_one_point_per_epoch_equal_to_the_journal(tracked):
    records = _records(tracked.run_dir)
    assert len(records) == EPOCHS
    acc = _events(tracked.run_dir / "tensorboard")
    layer = next(iter(records[0]["grad_norm"]))
    for tag in ("train_loss", "val_loss", "val_accuracy", "lr", f"grad_norm/{layer}"):
        events = acc.Scalars(tag)
        assert [e.step for e in events] == [r["epoch"] for r in records] == list(range(1, EPOCHS + 1))
        journal = [r[tag.split("/")[0]][layer] if "/" in tag else r[tag] for r in records]
        assert [e.value for e in events] == pytest.approx(journal, rel=1e-6)  # event files hold float32
    dead = acc.Scalars(f"activation_stats/{next(iter(records[0]['activation_stats']))}/dead")
    assert len(dead) == EPOCHS
    test = next(iter(tracked.test_metrics.values()))
    assert acc.Scalars("test_accuracy")[-1].value == pytest.approx(test["accuracy"], rel=1e-6)


@needs_trackers
def test_tensorboard_histograms_of_activations_and_gradients_per_epoch(tracked):
    acc = _events(tracked.run_dir / "tensorboard")
    tags = acc.Tags()["histograms"]
    activations = [t for t in tags if t.startswith("activations/")]
    gradients = [t for t in tags if t.startswith("gradients/")]
    record = _records(tracked.run_dir)[0]
    assert sorted(t.removeprefix("activations/") for t in activations) == sorted(record["activation_stats"])
    assert sorted(t.removeprefix("gradients/") for t in gradients) == sorted(record["grad_norm"])
    for tag in activations + gradients:
        events = acc.Histograms(tag)
        assert [e.step for e in events] == list(range(1, EPOCHS + 1))
        assert events[-1].histogram_value.num > 0
    relu = acc.Histograms(activations[0])[-1].histogram_value
    assert relu.min == 0.0 and relu.max > 0.0  # ReLU outputs: nothing below zero


@needs_trackers
def test_mlflow_run_has_params_metric_history_test_metrics_and_artifacts(tracked, tmp_path):
    client, runs = _runs(tracked.run_dir, "digits-mlp")
    assert len(runs) == 1
    run = runs[0]
    assert run.info.status == "FINISHED" and run.info.run_name == tracked.run_dir.name
    params = run.data.params
    assert params["training.optimizer.lr"] == "0.001"
    assert params["model.hidden"] == "[256, 128]"
    assert params["training.epochs"] == str(EPOCHS)
    records = _records(tracked.run_dir)
    for key in ("train_loss", "val_loss", "val_accuracy"):
        history = sorted(client.get_metric_history(run.info.run_id, key), key=lambda m: m.step)
        assert [m.step for m in history] == list(range(1, EPOCHS + 1))
        assert [m.value for m in history] == pytest.approx([r[key] for r in records], rel=1e-12)
    layer = next(iter(records[0]["grad_norm"]))
    assert len(client.get_metric_history(run.info.run_id, f"grad_norm/{layer}")) == EPOCHS
    for name, value in next(iter(tracked.test_metrics.values())).items():
        assert run.data.metrics[f"test_{name}"] == pytest.approx(value, rel=1e-12)
    names = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"report.md", "report.html", "summary.json", "config.toml", "model.json", "model.safetensors"} <= names
    assert not any(n.startswith(("checkpoint", "tensorboard")) for n in names)
    copy = Path(client.download_artifacts(run.info.run_id, "model.safetensors", str(tmp_path)))
    assert copy.read_bytes() == (tracked.run_dir / "model.safetensors").read_bytes()


@needs_trackers
def test_variants_get_a_folder_and_a_nested_mlflow_run_each(tmp_path):
    result = experiment.run("xor", ["training.epochs=30", "journal.plots=false", BOTH], out=tmp_path)
    client, runs = _runs(result.run_dir, "xor")
    parent = next(r for r in runs if "mlflow.parentRunId" not in r.data.tags)
    children = {r.info.run_name: r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id}
    assert sorted(children) == ["mlp", "perceptron"] and len(runs) == 3
    assert children["mlp"].data.params["model.name"] == "mlp"
    assert children["perceptron"].data.params["model.name"] == "perceptron"
    for name, child in children.items():
        assert child.data.metrics["test_accuracy"] == pytest.approx(result.test_metrics[name]["accuracy"])
        records = _records(result.run_dir / "variants" / name)
        steps = [m.step for m in client.get_metric_history(child.info.run_id, "val_loss")]
        assert sorted(steps) == [r["epoch"] for r in records]
        assert {"model.json", "model.safetensors"} <= {a.path for a in client.list_artifacts(child.info.run_id)}
        acc = _events(result.run_dir / "tensorboard" / name)
        assert [e.step for e in acc.Scalars("train_loss")] == [r["epoch"] for r in records]
    assert "report.md" in {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert parent.data.params["recipe"] == "xor" and parent.info.status == "FINISHED"


@needs_trackers
def test_a_study_logs_each_settings_numbers_and_its_report(tmp_path):
    techniques = '["none", "l2"]'
    quick = ["study.seeds=1", "study.epochs=2", f"study.techniques={techniques}", "study.train_size=60"]
    result = experiment.run("regularization-demo", [*quick, "study.workers=1", BOTH], out=tmp_path)
    client, runs = _runs(result.run_dir, "regularization-demo")
    parent = next(r for r in runs if "mlflow.parentRunId" not in r.data.tags)
    children = {r.info.run_name: r for r in runs if "mlflow.parentRunId" in r.data.tags}
    assert sorted(children) == ["l2", "none"]
    for name, child in children.items():
        rows = result.summary["variants"][name]["test"]
        assert child.data.metrics["test_error"] == pytest.approx(rows["test_error"])
        acc = _events(result.run_dir / "tensorboard" / name)
        assert acc.Scalars("test_error")[-1].value == pytest.approx(rows["test_error"], rel=1e-6)
    assert {"report.md", "summary.json"} <= {a.path for a in client.list_artifacts(parent.info.run_id)}


@needs_trackers
def test_a_run_without_loggers_imports_neither_and_trains_the_same_numbers(tracked, tmp_path):
    script = textwrap.dedent(
        f"""
        import sys
        import nnjournal
        from nnjournal import experiment
        result = experiment.run("digits-mlp", {OVERRIDES!r}, out={str(tmp_path)!r})
        loaded = [m for m in ("tensorboard", "mlflow", "torch.utils.tensorboard") if m in sys.modules]
        print(result.run_dir)
        print(",".join(loaded) or "none")
        """
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True)
    run_dir, loaded = out.stdout.strip().splitlines()[-2:]
    assert loaded == "none"
    untracked = [{k: v for k, v in r.items() if k != "time_s"} for r in _records(Path(run_dir))]
    assert untracked == [{k: v for k, v in r.items() if k != "time_s"} for r in _records(tracked.run_dir)]


def test_a_logger_not_installed_is_one_line_naming_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow", None)  # what `import mlflow` meets without the package
    result = nnj("run", "digits-mlp", "--set", 'training.loggers=["mlflow"]', "--out", str(tmp_path / "runs"))
    assert result.exit_code == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "pip install 'nnjournal[mlflow]'" in lines[0], result.stderr
    assert not (tmp_path / "runs").exists()


def test_an_unknown_logger_is_one_line(tmp_path):
    result = nnj("run", "digits-mlp", "--set", 'training.loggers=["wandb"]', "--out", str(tmp_path / "runs"))
    assert result.exit_code == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "training.loggers" in lines[0] and "tensorboard" in lines[0], result.stderr
    assert not (tmp_path / "runs").exists()


def test_the_trackers_are_extras_the_core_install_does_not_pull():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    assert extras["tensorboard"] == ["tensorboard>=2.14"] and extras["mlflow"] == ["mlflow>=2.10"]
    assert not [d for d in project["dependencies"] if d.startswith(("tensorboard", "mlflow"))]
    install = next(line for line in (ROOT / "Makefile").read_text().splitlines() if "pip install" in line)
    assert "tensorboard" in install and "mlflow" in install  # `make test` installs and tests them


def _refused_port() -> int:
    import socket

    with socket.socket() as s:  # a port nobody listens on once this closes
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(find_spec("mlflow") is None, reason="needs the mlflow extra: pip install -e '.[mlflow]'")
@pytest.mark.parametrize("uri", ["nosuch://store", "sqlite:///{tmp}/a-file/mlflow.db", "http://127.0.0.1:{port}"])
def test_a_tracking_uri_mlflow_cannot_use_is_one_line_before_training(uri, tmp_path):
    (tmp_path / "a-file").write_text("")  # a database path under a file cannot be created
    uri = uri.format(tmp=tmp_path, port=_refused_port())
    runs = tmp_path / "runs"
    result = nnj(
        "run", "digits-mlp", "--set", 'training.loggers=["mlflow"]', "--set", f'training.tracking_uri="{uri}"',
        "--out", str(runs),
    )
    assert result.exit_code == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and f"training.tracking_uri = {uri!r} cannot be used" in lines[0], result.stderr
    assert not runs.exists()

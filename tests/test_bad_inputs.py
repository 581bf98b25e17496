"""A corpus of bad inputs driven through the real `nnj` command line, each in its own child
process: CSVs, recipes, split settings, images, damaged saved runs and predict inputs.

Every case must end with exit code 2, exactly one line on stderr (`error: ...`, naming what
is wrong; never a traceback) and no run directory left under `--out`. Each case also names a
fragment of its message, so it fails if the input is refused for a different reason.

The children are forked from `cli_fork_server.py`, which imports the CLI once (a cold start
costs ~4 s of CPU, which 100 cases cannot afford); `test_fork_server_matches_the_real_nnj`
checks a few cases against `python -m nnjournal` itself."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

HERE = Path(__file__).parent
TRAIN = [
    "--set",
    "training.epochs=1",
    "--set",
    "journal.plots=false",
    "--set",
    "evaluation.baselines=['dummy']",
]


class Nnj:
    """`nnj ARGS` in a forked child of cli_fork_server.py: (exit code, stdout, stderr)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        env = {**os.environ, "OMP_NUM_THREADS": "1", "NNJ_CACHE_DIR": str(workdir / "cache")}
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "cli_fork_server.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.calls = 0

    def __call__(self, *args: str, cwd: Path | None = None) -> tuple[int, str, str]:
        self.calls += 1
        out, err = self.workdir / f"{self.calls}.out", self.workdir / f"{self.calls}.err"
        request = {
            "args": list(args),
            "cwd": str(cwd or self.workdir),
            "stdout": str(out),
            "stderr": str(err),
        }
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        rc = json.loads(self.proc.stdout.readline())["rc"]
        return rc, out.read_text(), err.read_text()

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


# ------------------------------------------------------------------ the bad files
def _csv(path: Path, header: str, rows: list[str]) -> None:
    path.write_text("\n".join([header, *rows]) + "\n")


def _png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height pixels, with (almost) no pixel data."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 10))
        + chunk(b"IEND", b"")
    )


def _photo(path: Path, seed: int) -> None:
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 255, (12, 12, 3), dtype=np.uint8)).save(path)


def make_files(d: Path) -> None:
    rng = np.random.default_rng(0)

    def rows(n: int, target: Callable[[int], str], a: Callable[[int], str] | None = None) -> list[str]:
        a = a or (lambda i: f"{rng.random():.4f}")
        return [f"{a(i)},{rng.random():.4f},{target(i)}" for i in range(n)]

    yes_no = lambda i: "yes" if i % 2 else "no"  # noqa: E731
    _csv(d / "good.csv", "a,b,y", rows(60, yes_no))
    (d / "empty.csv").write_text("")
    (d / "blank_lines.csv").write_text("\n\n  \n")
    (d / "binary.csv").write_bytes(bytes(range(256)) * 8)
    (d / "utf16.csv").write_text("a,b,y\n1,2,yes\n", encoding="utf-16")
    (d / "nul.csv").write_bytes(b"a,b,y\n1,\x00,yes\n")
    (d / "ragged.csv").write_text("a,b,y\n1,2,yes\n1,2\n3,4,no\n")
    _csv(d / "target_only.csv", "y", [yes_no(i) for i in range(30)])
    (d / "one_row.csv").write_text("a,b,y\n1,2,yes\n")
    (d / "header_only.csv").write_text("a,b,y\n")
    (d / "headerless.csv").write_text(
        "\n".join(f"{rng.random():.3f},{rng.random():.3f},{i % 2}" for i in range(40))
    )
    _csv(d / "no_target.csv", "a,b,y", rows(30, lambda i: ""))
    _csv(d / "one_class.csv", "a,b,y", rows(30, lambda i: "yes"))
    _csv(d / "singleton_class.csv", "a,b,y", rows(40, lambda i: "rare" if i == 0 else yes_no(i)))
    _csv(d / "few_per_class.csv", "a,b,y", rows(12, lambda i: "abcd"[i % 4]))
    (d / "space_delimited.csv").write_text("a b y\n1 2 yes\n3 4 no\n5 6 yes\n")
    (d / "semicolons.csv").write_text("a;b;y\n1;2;yes\n3;4;no\n")
    (d / "latin1.csv").write_bytes("prix,caf\xe9,classe\n1,a,x\n2,b,y\n".encode("latin-1"))
    _csv(d / "many_text_labels.csv", "a,b,y", rows(200, lambda i: f"label{i}"))
    _csv(d / "many_numbers.csv", "a,b,y", rows(200, lambda i: str(i * 7 % 113)))
    _csv(d / "text_regression.csv", "a,b,y", rows(30, yes_no))
    _csv(d / "stray_word.csv", "a,b,y", rows(100, yes_no, a=lambda i: "oops" if i == 7 else str(i)))
    (d / "duplicate_header.csv").write_text("a,a,y\n1,2,yes\n3,4,no\n")
    (d / "unnamed_column.csv").write_text("a,,y\n1,2,yes\n3,4,no\n")
    _csv(d / "few_rows.csv", "a,b,y", rows(4, yes_no))
    (d / "data_folder.csv").mkdir()
    # Recipes
    (d / "binary.toml").write_bytes(bytes(range(128, 256)) * 4)
    (d / "invalid.toml").write_text("[data\nname = ")
    (d / "unknown_key.toml").write_text('[data]\nname = "digits"\ncolour = "red"\n')
    (d / "wrong_type.toml").write_text('[data]\nname = "digits"\n[training]\nepochs = "many"\n')
    (d / "unknown_loader.toml").write_text('[data]\nname = "imagenet-22k"\n')
    (d / "recipes").mkdir()
    (d / "a_file").write_text("not a folder\n")
    # Images
    (d / "no_classes").mkdir()
    for name in ("a", "b"):
        (d / "not_images" / name).mkdir(parents=True)
        (d / "not_images" / name / "notes.txt").write_text("hello")
        (d / "corrupt" / name).mkdir(parents=True)
        (d / "bombs" / name).mkdir(parents=True)
        (d / "bombs" / name / "big.png").write_bytes(_png_header(100_000, 100_000))
        (d / "one_empty_class" / name).mkdir(parents=True)
        (d / "no_test" / name).mkdir(parents=True)
        for i in range(4):
            _photo(d / "no_test" / name / f"{i}.png", i)
    _photo(d / "one_empty_class" / "a" / "1.png", 0)
    _photo(d / "photo.jpg", 1)
    jpeg = (d / "photo.jpg").read_bytes()
    (d / "corrupt" / "a" / "1.jpg").write_bytes(jpeg[:120])
    (d / "corrupt" / "b" / "1.jpg").write_bytes(b"\xff\xd8\xff" + bytes(50))
    (d / "corrupt.jpg").write_bytes(jpeg[:120])
    (d / "bomb.png").write_bytes(_png_header(100_000, 100_000))  # 10 billion pixels
    (d / "big.png").write_bytes(_png_header(10_000, 10_000))  # 100 million: PIL only warns
    (d / "text.png").write_text("not an image")
    # Predict inputs
    np.save(d / "x64.npy", np.zeros((3, 64), np.float32))
    np.save(d / "x10.npy", np.zeros((3, 10), np.float32))
    np.save(d / "scalar.npy", np.float32(3.0))
    np.save(d / "x_inf.npy", np.full((2, 64), np.inf, np.float32))
    np.save(d / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    np.savez(d / "no_x.npz", inputs=np.zeros((2, 64)))
    (d / "not_numbers.csv").write_text("1,2,3\nx,y,z\n")
    (d / "ragged_numbers.csv").write_text("1,2,3\n4,5\n")
    (d / "missing_column.csv").write_text("a,c\n0.5,1\n")
    (d / "huge_value.csv").write_text("a,b\n1e308,0.5\n")
    _csv(d / "huge_target.csv", "a,b,y", rows(30, lambda i: f"{(-1) ** i * 1.5e308:.6g}"))


# ------------------------------------------------------------------ finished runs to damage
@pytest.fixture(scope="module")
def world(nnj: Nnj, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("bad")
    make_files(d)
    runs = tmp_path_factory.mktemp("runs")
    common = ["-q", "--out", str(runs), *TRAIN]
    tab = ["run", "tabular", *common, "--set", f"data.path={d / 'good.csv'}", "--set", "data.target=y"]
    tab += ["--set", "evaluation.permutation_importance=false"]
    tab += ["--set", "variants.wide.model.hidden=[8]", "--set", "variants.narrow.model.hidden=[4]"]
    rc, _, err = nnj(*tab)
    assert rc == 0, err
    rc, _, err = nnj("run", "digits-mlp", *common)
    assert rc == 0, err
    found = {p.name.split("_", 1)[1]: p for p in runs.iterdir() if p.is_dir()}
    return {"files": d, "tabular": found["tabular"], "digits": found["digits-mlp"]}


def _edit_json(path: Path, edit: Callable[[dict], object]) -> None:
    """Rewrite a JSON file after `edit` changed its dict in place."""
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))


DAMAGE: dict[str, Callable[[Path, dict[str, Path]], None]] = {
    "weights truncated": lambda r, w: (r / "model.safetensors").write_bytes(
        (r / "model.safetensors").read_bytes()[:900]
    ),
    "weights random": lambda r, w: (r / "model.safetensors").write_bytes(
        np.random.default_rng(0).bytes(4000)
    ),
    "weights empty": lambda r, w: (r / "model.safetensors").write_bytes(b""),
    "weights missing": lambda r, w: (r / "model.safetensors").unlink(),
    "weights of another model": lambda r, w: shutil.copy(
        w["tabular"] / "variants" / "wide" / "model.safetensors", r / "model.safetensors"
    ),
    "weights of another width": lambda r, w: _edit_json(
        r / "model.json", lambda m: m["model"].update(hidden=[32, 16])
    ),
    "model.json empty": lambda r, w: (r / "model.json").write_text(""),
    "model.json invalid": lambda r, w: (r / "model.json").write_text('{"format": '),
    "model.json a list": lambda r, w: (r / "model.json").write_text("[1, 2]"),
    "model.json without info": lambda r, w: _edit_json(r / "model.json", lambda m: m.pop("info")),
    "model.json bad model spec": lambda r, w: _edit_json(
        r / "model.json", lambda m: m["model"].update(hidden="wide")
    ),
    "model.json unknown task": lambda r, w: _edit_json(r / "model.json", lambda m: m.update(task="poetry")),
    "model.json bad input shape": lambda r, w: _edit_json(
        r / "model.json", lambda m: m["info"].update(input_shape=[-3])
    ),
    "summary.json a list": lambda r, w: (r / "summary.json").write_text("[1]"),
    "summary.json empty": lambda r, w: (r / "summary.json").write_text(""),
    "summary.json no variants": lambda r, w: _edit_json(r / "summary.json", lambda s: s.pop("variants")),
    "summary.json headline text": lambda r, w: _edit_json(
        r / "summary.json", lambda s: s["headline"].update(value="high")
    ),
    "summary.json no seed": lambda r, w: _edit_json(r / "summary.json", lambda s: s.pop("seed")),
    "summary.json variants a list": lambda r, w: _edit_json(
        r / "summary.json", lambda s: s.update(variants=[])
    ),
    "summary.json missing": lambda r, w: (r / "summary.json").unlink(),
}


@dataclass
class Case:
    id: str
    args: list[
        str
    ]  # {f}: the bad files, {out}: the --out folder, {tab}/{dig}: finished runs, {run}: a damaged copy
    expect: str  # a fragment of the one error line
    damage: str | None = None  # a DAMAGE applied to a copy of the digits run, given as {run}
    extra: list[str] = field(default_factory=list)


def recipe_run(id: str, recipe: str, expect: str, *sets: str) -> Case:
    """`nnj run RECIPE -q --out {out} --set S ...` with the short training of `TRAIN`."""
    return Case(id, ["run", recipe, "-q", "--out", "{out}", *(a for s in sets for a in ("--set", s)), *TRAIN], expect)


def check_refused(case: Case, nnj: Nnj, files: Path, tmp_path: Path) -> None:
    """`case` run with {f} = `files` and {out} = tmp_path/out: exit 2, one `error:` line
    holding `case.expect`, no traceback, and nothing written under {out}."""
    out = tmp_path / "out"
    args = [a.format(f=files, out=out) for a in case.args]
    rc, stdout, stderr = nnj(*args, cwd=tmp_path)
    lines = stderr.splitlines()
    assert rc == 2 and len(lines) == 1 and "Traceback" not in stderr, (rc, stderr[-3000:], stdout[-500:])
    assert lines[0].startswith("error: ") and case.expect in lines[0], lines[0]
    assert not out.exists() or list(out.iterdir()) == [], list(out.iterdir())


def csv_run(id: str, file: str, expect: str, *sets: str) -> Case:
    return recipe_run(id, "tabular", expect, f"data.path={{f}}/{file}", "data.target=y", *sets)


def folder_run(id: str, folder: str, expect: str, *sets: str) -> Case:
    return recipe_run(id, "flowers-cnn", expect, f"data.path={{f}}/{folder}", "data.size=8", *sets)


def predict(id: str, run: str, inputs: str, expect: str, *extra: str, damage: str | None = None) -> Case:
    return Case(id, ["predict", run, inputs, "--out", "{out}/p.csv", *extra], expect, damage)


CASES = [
    # CSV files
    csv_run("csv empty", "empty.csv", "the file is empty"),
    csv_run("csv blank lines only", "blank_lines.csv", "the file is empty"),
    csv_run("csv binary", "binary.csv", "holds binary data"),
    csv_run("csv utf-16 (decoded) with one row", "utf16.csv", "only 1 data row"),
    csv_run("csv nul bytes", "nul.csv", "holds binary data"),
    csv_run("csv ragged", "ragged.csv", "line 3 has 2 fields"),
    csv_run("csv target only", "target_only.csv", "no feature columns"),
    csv_run("csv one row", "one_row.csv", "only 1 data row"),
    csv_run("csv few rows", "few_rows.csv", "only 4 data row"),
    csv_run("csv header only", "header_only.csv", "no data rows"),
    csv_run("csv headerless", "headerless.csv", "no header row"),
    csv_run("csv target all missing", "no_target.csv", "blank in every row"),
    csv_run("csv one class", "one_class.csv", "single class"),
    csv_run("csv class with one row", "singleton_class.csv", "'rare' (1 row)"),
    csv_run(
        "csv fewer test rows than classes",
        "few_per_class.csv",
        "fewer than the 4 classes",
        "data.test_fraction=0.1",
    ),
    csv_run("csv space delimiter", "space_delimited.csv", "set data.delimiter"),
    csv_run("csv wrong delimiter set", "semicolons.csv", "header contains ';'", "data.delimiter=','"),
    csv_run("csv non-utf-8 without the target", "latin1.csv", "'café'"),
    csv_run("csv 200 text labels", "many_text_labels.csv", "distinct text values"),
    csv_run("csv 113 numbers as classes", "many_numbers.csv", "task.name=regression"),
    csv_run(
        "csv text regression target", "text_regression.csv", "holds non-numbers", "task.name='regression'"
    ),
    csv_run("csv stray word in numbers", "stray_word.csv", "holds numbers except 1 value"),
    csv_run(
        "csv declared numeric with text",
        "good.csv",
        "declared numeric",
        "data.numeric=['y']",
        "data.target='a'",
    ),
    csv_run("csv duplicate header", "duplicate_header.csv", "appears twice"),
    csv_run("csv unnamed column", "unnamed_column.csv", "has no name"),
    csv_run("csv unknown target", "good.csv", "target column 'nope' not found", "data.target='nope'"),
    csv_run("csv unknown id column", "good.csv", "data.id_columns names", "data.id_columns=['nope']"),
    csv_run("csv positive label not a class", "good.csv", "positive_label", "data.positive_label='maybe'"),
    csv_run("csv file missing", "nowhere.csv", "not found"),
    csv_run("csv is a folder", "data_folder.csv", "is a folder"),
    Case("csv no path", ["run", "tabular", "-q", "--out", "{out}"], "needs a file"),
    # Split settings
    csv_run("split test fraction 0", "good.csv", "data.test_fraction = 0", "data.test_fraction=0"),
    csv_run(
        "split val + test = 1",
        "good.csv",
        "leaves no training rows",
        "data.val_fraction=0.5",
        "data.test_fraction=0.5",
    ),
    csv_run(
        "split val + test > 1",
        "good.csv",
        "leaves no training rows",
        "data.val_fraction=0.6",
        "data.test_fraction=0.6",
    ),
    csv_run("split no rows left", "good.csv", "too few", "data.val_fraction=0.01", "data.test_fraction=0.98"),
    csv_run("split negative fraction", "good.csv", "val_fraction", "data.val_fraction=-0.1"),
    Case(
        "split digits test 0",
        ["run", "digits-mlp", "-q", "--out", "{out}", "--set", "data.test_fraction=0"],
        "test_fraction = 0",
    ),
    Case(
        "split digits val + test = 1",
        [
            "run",
            "digits-mlp",
            "-q",
            "--out",
            "{out}",
            "--set",
            "data.test_fraction=0.3",
            "--set",
            "data.val_fraction=0.7",
        ],
        "leaves no training rows",
    ),
    folder_run("split photos test 0", "no_test", "no test split of its own", "data.test_fraction=0"),
    # Recipes and options
    Case("recipe binary", ["run", "{f}/binary.toml", "--out", "{out}"], "not a recipe"),
    Case("recipe invalid toml", ["run", "{f}/invalid.toml", "--out", "{out}"], "not valid TOML"),
    Case("recipe unknown key", ["run", "{f}/unknown_key.toml", "--out", "{out}"], "data.colour: unknown key"),
    Case("recipe wrong type", ["run", "{f}/wrong_type.toml", "--out", "{out}"], "training.epochs"),
    Case("recipe unknown loader", ["run", "{f}/unknown_loader.toml", "--out", "{out}"], "imagenet-22k"),
    Case("recipe unknown name", ["run", "no-such-recipe", "--out", "{out}"], "unknown recipe"),
    Case("recipe file missing", ["run", "{f}/nowhere.toml", "--out", "{out}"], "recipe file not found"),
    Case("recipe is a folder", ["run", "{f}/recipes/", "--out", "{out}"], "is a folder"),
    recipe_run(
        "a model setting where the models are variants (pydantic: unable to extract tag)",
        "xor",
        "this recipe sets model in its variants (perceptron, mlp): set variants.mlp.model.KEY=VALUE",
        "model.hidden=[8]",
    ),
    Case("show binary recipe", ["show", "{f}/binary.toml"], "not a recipe"),
    Case(
        "set without =",
        ["run", "digits-mlp", "--out", "{out}", "--set", "training.epochs"],
        "expected KEY=VALUE",
    ),
    Case(
        "set into a value",
        ["run", "digits-mlp", "--out", "{out}", "--set", "seed.x=1"],
        "is a value, not a table",
    ),
    Case(
        "set wrong type",
        ["run", "digits-mlp", "--out", "{out}", "--set", "training.epochs=abc"],
        "training.epochs",
    ),
    Case(
        "set unknown key", ["run", "digits-mlp", "--out", "{out}", "--set", "training.epoch=3"], "unknown key"
    ),
    Case("seed not a number", ["run", "digits-mlp", "--out", "{out}", "--seed", "abc"], "'--seed'"),
    Case("unknown option", ["run", "digits-mlp", "--out", "{out}", "--epochs", "3"], "No such option"),
    Case("unknown command", ["frobnicate"], "No such command"),
    Case("missing argument", ["predict"], "Missing argument"),
    Case("no recipe", ["run", "--out", "{out}"], "give a recipe name"),
    Case("out is a file", ["run", "digits-mlp", "--out", "{f}/a_file"], "is a file"),
    Case("out under a file", ["run", "digits-mlp", "--out", "{f}/a_file/runs"], "which is a file"),
    Case("out in /proc", ["run", "digits-mlp", "--out", "/proc/nnj-runs"], "nothing can be written in /proc"),
    Case("study unknown", ["study", "dropout", "--out", "{out}"], "unknown study"),
    Case(
        "study bad profile", ["study", "capacity", "--profile", "huge", "--out", "{out}"], "--profile must be"
    ),
    Case(
        "study out is a file", ["study", "capacity", "--profile", "quick", "--out", "{f}/a_file"], "is a file"
    ),
    Case("conv explain bad number", ["conv", "explain", "--input", "abc", "--kernel", "3"], "'--input'"),
    Case(
        "conv explain stride 0",
        ["conv", "explain", "--input", "8", "--kernel", "3", "--stride", "0"],
        "stride",
    ),
    # Images
    folder_run("images no class folders", "no_classes", "one sub-folder per class"),
    folder_run("images not images", "not_images", "no .jpg/.jpeg/.png"),
    folder_run("images all corrupt", "corrupt", "none of the 2 image files could be decoded"),
    folder_run("images png bombs", "bombs", "decompression bomb"),
    folder_run("images an empty class", "one_empty_class", "hold no .jpg"),
    folder_run("images folder missing", "nowhere", "does not exist"),
    Case(
        "filters bomb header",
        ["conv", "filters", "{f}/bomb.png", "--out", "{out}/f.png"],
        "decompression bomb",
    ),
    Case(
        "filters 100M pixels", ["conv", "filters", "{f}/big.png", "--out", "{out}/f.png"], "MAX_IMAGE_PIXELS"
    ),
    Case(
        "filters corrupt jpeg",
        ["conv", "filters", "{f}/corrupt.jpg", "--out", "{out}/f.png"],
        "not a readable image",
    ),
    Case(
        "filters text file",
        ["conv", "filters", "{f}/text.png", "--out", "{out}/f.png"],
        "not a readable image",
    ),
    Case("filters a folder", ["conv", "filters", "{f}/corrupt", "--out", "{out}/f.png"], "is a folder"),
    Case(
        "filters missing", ["conv", "filters", "{f}/nowhere.png", "--out", "{out}/f.png"], "image not found"
    ),
    Case(
        "filters out is a folder", ["conv", "filters", "{f}/photo.jpg", "--out", "{f}/recipes"], "is a folder"
    ),
    # Damaged saved runs
    *[
        predict(f"predict, {name}", "{run}", "{f}/x64.npy", expect, damage=name)
        for name, expect in [
            ("weights truncated", "not a readable safetensors"),
            ("weights random", "not a readable safetensors"),
            ("weights empty", "not a readable safetensors"),
            ("weights missing", "model.safetensors is missing"),
            ("weights of another model", "does not hold this model's weights"),
            ("weights of another width", "does not fit model.json"),
            ("model.json empty", "not valid JSON"),
            ("model.json invalid", "not valid JSON"),
            ("model.json a list", "expected a JSON object"),
            ("model.json without info", "is damaged: no info"),
            ("model.json bad model spec", "hidden"),
            ("model.json unknown task", "unknown task 'poetry'"),
            ("model.json bad input shape", "input_shape"),
            ("summary.json a list", "expected a JSON object"),
            ("summary.json no variants", "variants: field required"),
            ("summary.json missing", "did not finish"),
        ]
    ],
    *[
        Case(f"report, {name}", ["report", "{run}"], expect, damage=name)
        for name, expect in [
            ("summary.json a list", "expected a JSON object"),
            ("summary.json empty", "not valid JSON"),
            ("summary.json no variants", "variants: field required"),
            ("summary.json headline text", "headline.value"),
            ("summary.json no seed", "seed: field required"),
            ("summary.json variants a list", "variants"),
            ("summary.json missing", "did not finish"),
        ]
    ],
    Case("report not a run", ["report", "{f}/recipes"], "not a run directory"),
    Case("report missing folder", ["report", "{f}/nowhere"], "not a run directory"),
    Case("runs given a file", ["runs", "{f}/a_file"], "is a file"),
    # Predict inputs
    predict(
        "predict tabular missing column", "{tab}", "{f}/missing_column.csv", "missing required column(s): b"
    ),
    predict("predict tabular numpy input", "{tab}", "{f}/x64.npy", "named columns"),
    predict("predict tabular folder", "{tab}", "{f}/recipes", "is a folder"),
    predict("predict tabular image", "{tab}", "{f}/photo.jpg", "is an image, but this model was trained on a table"),
    predict("predict tabular unknown id column", "{tab}", "{f}/good.csv", "--id-column 'nope'", "--id-column", "nope"),
    predict("predict digits id column", "{dig}", "{f}/x64.npy", "--id-column names a column", "--id-column", "a"),
    predict("predict tabular headerless", "{tab}", "{f}/headerless.csv", "no header row"),
    predict("predict tabular empty", "{tab}", "{f}/empty.csv", "the file is empty"),
    predict("predict tabular huge number", "{tab}", "{f}/huge_value.csv", "too far from the training values"),
    predict(
        "predict tabular unknown variant",
        "{tab}",
        "{f}/good.csv",
        "unknown --variant 'nope'",
        "--variant",
        "nope",
    ),
    predict(
        "predict digits unknown variant", "{dig}", "{f}/x64.npy", "this run has mlp", "--variant", "nope"
    ),
    predict("predict digits folder", "{dig}", "{f}/recipes", "is a folder"),
    predict("predict digits wrong width", "{dig}", "{f}/x10.npy", "10 features per row"),
    predict("predict digits scalar", "{dig}", "{f}/scalar.npy", "no inputs"),
    predict("predict digits infinite", "{dig}", "{f}/x_inf.npy", "not a finite number"),
    predict("predict digits object array", "{dig}", "{f}/objects.npy", "pickled"),
    predict("predict digits npz without x", "{dig}", "{f}/no_x.npz", "array named 'x'"),
    predict("predict digits text values", "{dig}", "{f}/not_numbers.csv", "must be a number"),
    predict("predict digits ragged csv", "{dig}", "{f}/ragged_numbers.csv", "row 2 has 2 values"),
    predict("predict digits binary csv", "{dig}", "{f}/binary.csv", "not a text CSV"),
    predict("predict digits image", "{dig}", "{f}/photo.jpg", "is an image, but this model takes rows of 64 numbers"),
    predict("predict input missing", "{dig}", "{f}/nowhere.npy", "input file not found"),
    predict("predict run missing", "{f}/nowhere", "{f}/x64.npy", "not a run directory"),
    Case(
        "predict out is a folder", ["predict", "{dig}", "{f}/x64.npy", "--out", "{f}/recipes"], "is a folder"
    ),
    Case(
        "predict out in /proc",
        ["predict", "{dig}", "{f}/x64.npy", "--out", "/proc/nnj-predictions.csv"],
        "nothing can be written in /proc",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_line_exit_2_and_leaves_nothing(
    case: Case, nnj: Nnj, world: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    run = tmp_path / "run"
    if case.damage is not None:
        shutil.copytree(world["digits"], run)
        DAMAGE[case.damage](run, world)
    places = {"f": world["files"], "out": out, "tab": world["tabular"], "dig": world["digits"], "run": run}
    args = [a.format(**{k: str(v) for k, v in places.items()}) for a in case.args]
    before = _snapshot(run)
    rc, stdout, stderr = nnj(*args, cwd=tmp_path)
    lines = stderr.splitlines()
    assert rc == 2 and len(lines) == 1 and "Traceback" not in stderr, (rc, stderr[-3000:], stdout[-500:])
    assert lines[0].startswith("error: ") and case.expect in lines[0], lines[0]
    # Nothing half-written: no run directory, no predictions, no figure, the damaged run untouched.
    assert not out.exists() or [p.name for p in out.iterdir()] == [], list(out.iterdir())
    assert _snapshot(run) == before


CORE_CASES = [
    # Refused before the run directory exists by experiment._preflight.
    csv_run("csv more folds than rows per class", "good.csv", "evaluation.cv = 50", "evaluation.cv=50"),
    csv_run(
        "csv label smoothing for regression",
        "many_numbers.csv",
        "label_smoothing applies to classification only",
        "task.name='regression'",
        "training.label_smoothing=0.1",
    ),
]


@pytest.mark.parametrize("case", CORE_CASES, ids=[c.id for c in CORE_CASES])
def test_bad_input_found_by_the_preflight(case: Case, nnj: Nnj, world: dict[str, Path], tmp_path: Path) -> None:
    test_bad_input_is_one_line_exit_2_and_leaves_nothing(case, nnj, world, tmp_path)


def _snapshot(folder: Path) -> dict[str, bytes]:
    return (
        {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
        if folder.exists()
        else {}
    )


def test_corpus_size() -> None:
    assert len(CASES) >= 100 and len({c.id for c in CASES}) == len(CASES)


def test_listings_mark_damaged_runs_instead_of_crashing(
    nnj: Nnj, world: dict[str, Path], tmp_path: Path
) -> None:
    """`nnj runs` and the index page list a run with a damaged summary.json as damaged."""
    root = tmp_path / "runs"
    for name in ("summary.json a list", "summary.json headline text", "summary.json no variants"):
        run = root / name.replace(" ", "-")
        shutil.copytree(world["digits"], run)
        DAMAGE[name](run, world)
    shutil.copytree(world["digits"], root / "fine")
    rc, stdout, stderr = nnj("runs", str(root))
    assert rc == 0 and stderr == "", stderr
    assert stdout.count("damaged") == 3 and "accuracy" in stdout
    from nnjournal.journal.site import write_index

    page = write_index(root).read_text()
    assert page.count(">damaged<") == 3 and page.count('href="fine/report.html"') == 1


def test_inf_cells_and_numbers_near_1e308_train_with_notes(
    nnj: Nnj, world: dict[str, Path], tmp_path: Path
) -> None:
    """A numeric column with a few `inf` cells stays numeric (imputed, noted); values near
    1e308 are standardized without overflow; a class missing from the test split is noted;
    no library warning reaches the terminal."""
    rng = np.random.default_rng(3)
    rows = [
        f"{'inf' if i % 15 == 0 else f'{rng.random():.3f}'},{rng.uniform(-1, 1) * 1e308:.6g},"
        f"{'rare' if i < 3 else 'yes' if i % 2 else 'no'}"
        for i in range(60)
    ]
    _csv(tmp_path / "odd.csv", "a,huge,y", rows)
    rc, _, stderr = nnj(
        "run", "tabular", "-q", "--out", str(tmp_path / "out"), "--set", f"data.path={tmp_path / 'odd.csv'}",
        "--set", "data.target=y", "--set", "evaluation.permutation_importance=false", *TRAIN,
    )  # fmt: skip
    assert rc == 0 and stderr == "", stderr
    (summary,) = (tmp_path / "out").glob("*/summary.json")
    s = json.loads(summary.read_text())
    notes = " ".join(s["data"]["notes"])
    assert "numeric 2, boolean 0, categorical 0" in notes
    assert "a: 4 infinite value(s)" in notes
    confusion = np.array(s["variants"]["mlp"]["confusion"])
    absent = [n for n, row in zip(s["data"]["class_names"], confusion, strict=True) if row.sum() == 0]
    for name in absent:  # a class with no test examples is said so, not hidden behind accuracy
        assert f"no examples of class(es) '{name}'" in notes
    assert np.isfinite(s["variants"]["mlp"]["test"]["accuracy"])


def test_mathtext_class_names_are_plotted_literally(nnj: Nnj, tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    labels = ["$\\badcmd$", "$x^^2$"]
    _csv(
        tmp_path / "m.csv",
        "a,b,y",
        [f"{rng.random():.3f},{rng.random():.3f},{labels[i % 2]}" for i in range(40)],
    )
    rc, _, stderr = nnj(
        "run", "tabular", "-q", "--out", str(tmp_path / "out"), "--set", f"data.path={tmp_path / 'm.csv'}",
        "--set", "data.target=y", "--set", "training.epochs=1", "--set", "evaluation.baselines=['dummy']",
        "--set", "evaluation.permutation_importance=false",
    )  # fmt: skip
    assert rc == 0 and stderr == "", stderr
    assert list((tmp_path / "out").glob("*/plots/confusion.png"))


@pytest.mark.parametrize(
    "case", [c for c in CASES if c.id in ("csv headerless", "recipe binary", "seed not a number")]
)
def test_fork_server_matches_the_real_nnj(
    case: Case, nnj: Nnj, world: dict[str, Path], tmp_path: Path
) -> None:
    """The forked children behave as `python -m nnjournal` does (same exit code and line)."""
    places = {"f": world["files"], "out": tmp_path / "out"}
    args = [a.format(**{k: str(v) for k, v in places.items()}) for a in case.args]
    real = subprocess.run(
        [sys.executable, "-m", "nnjournal", *args], capture_output=True, text=True, cwd=tmp_path
    )
    rc, _, stderr = nnj(*args, cwd=tmp_path)
    # The only difference: click names the program as it was started.
    assert (real.returncode, real.stderr) == (rc, stderr.replace("`nnj ", "`python -m nnjournal "))
    assert rc == 2

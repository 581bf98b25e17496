"""The `nnj` command starts quickly: no torch (or other heavy library) before a command needs it.

Each check runs in a fresh subprocess, since this test process has long since imported torch.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

# The installed console script is what a user types; `python -m nnjournal` is the same code.
_SCRIPT = Path(sys.executable).with_name("nnj")
NNJ = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "nnjournal"]

# Modules that each cost tenths of a second to seconds to import on a 2-core machine.
HEAVY = ("torch", "matplotlib", "sklearn", "scipy", "PIL", "nnjournal.experiment", "nnjournal.studies")


def _best_time(args: list[str], tries: int = 3) -> tuple[float, float]:
    """Fastest wall time and CPU time of `tries` fresh runs. On a quiet machine a start-up
    takes at most its CPU time; under `pytest -n 2` (or other load) wall time can double
    while CPU time does not, so the bound is checked on the smaller of the two: a start that
    really got slower (torch imported again) fails either way."""
    best_wall = best_cpu = float("inf")
    for _ in range(tries):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run([*NNJ, *args], capture_output=True, text=True, timeout=60)
        best_wall = min(best_wall, time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        best_cpu = min(best_cpu, cpu)
        assert done.returncode == 0, done.stderr
    return best_wall, best_cpu


@pytest.mark.parametrize(("args", "bound"), [(["--help"], 1.0), (["--version"], 1.0), (["list"], 2.0)])
def test_wall_time(args: list[str], bound: float) -> None:
    wall, cpu = _best_time(args)
    assert min(wall, cpu) < bound, (
        f"nnj {' '.join(args)} took {wall:.2f} s wall, {cpu:.2f} s CPU (best of 3), bound {bound} s"
    )


def test_version_prints_the_installed_version() -> None:
    from importlib.metadata import version

    done = subprocess.run([*NNJ, "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"nnjournal {version('nnjournal')}\n"


def _modules_after(code: str) -> set[str]:
    probe = f"{code}\nimport sys\nprint(' '.join(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return set(done.stdout.splitlines()[-1].split())  # the last line; `nnj list` prints above it


def test_import_nnjournal_does_not_import_torch() -> None:
    loaded = _modules_after("import nnjournal")
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_nnj_list_does_not_import_torch() -> None:
    # The command itself, in-process, so the probe sees what `nnj list` really loads.
    code = (
        "import sys\n"
        "sys.argv = ['nnj', 'list']\n"
        "from nnjournal.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass"
    )
    loaded = _modules_after(code)
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_lazy_names_still_resolve() -> None:
    # `import nnjournal as nnj; nnj.run(...)` must keep working, and `from nnjournal import fit`.
    code = (
        "import nnjournal as nnj\n"
        "from nnjournal import fit, load\n"
        "assert callable(nnj.run) and callable(nnj.load_model) and fit is nnj.fit and load is nnj.load\n"
        "assert set(nnj.__all__) <= set(dir(nnj))\n"
        # Every public name still resolves: fails when a module named in _LAZY moves.
        "missing = [n for n in nnj.__all__ if getattr(nnj, n, None) is None]\n"
        "assert not missing, missing"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr

"""Run many `nnj` command lines as real child processes without paying the import cost each
time: this script imports the CLI and what its commands import (torch, scikit-learn,
matplotlib) once, then forks one child per request. Each child is a fresh process that runs
`nnjournal.cli.main()` exactly as the `nnj` entry point does, with its own argv, working
folder, environment and stdout/stderr files, and exits with the command's exit status.

Protocol: one JSON object per line on stdin, {"args": [...], "cwd": str, "env": {...},
"stdout": path, "stderr": path}; one line back on stdout, {"rc": int}.
Used by tests/test_bad_inputs.py (a cold `nnj` start costs about 4 s of CPU; a fork, none)."""

from __future__ import annotations

import json
import os
import sys
import traceback


def _child(request: dict) -> None:
    os.chdir(request["cwd"])
    os.environ.update(request.get("env", {}))
    for fd, path in ((1, request["stdout"]), (2, request["stderr"])):
        target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(target, fd)
        os.close(target)
    sys.stdin = open(os.devnull)  # noqa: SIM115
    sys.argv = ["nnj", *request["args"]]
    code = 0
    try:
        from nnjournal.cli import main

        main()
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except BaseException:  # what the interpreter would do with an uncaught exception
        traceback.print_exc()
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)


def main() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import nnjournal.cli  # noqa: F401
    import nnjournal.experiment  # noqa: F401  (torch, scikit-learn, matplotlib, every loader)
    import nnjournal.predict_io  # noqa: F401
    import nnjournal.saved_model  # noqa: F401

    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _child(request)
        _, status = os.waitpid(pid, 0)
        rc = os.waitstatus_to_exitcode(status)
        sys.stdout.write(json.dumps({"rc": rc}) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()

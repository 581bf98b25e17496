"""Downloading a public data file with checksum verification.

The bytes go to a temporary file next to the destination and are hashed as they arrive;
only a file whose checksum matches is renamed into place. A mismatch, a network error or
an interrupted run leaves nothing behind, so a later run never trusts half a file.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from nnjournal.errors import NNJError

log = logging.getLogger(__name__)


def file_digest(path: Path, algorithm: str = "md5") -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def download(url: str, dest: Path, *, md5: str, timeout_s: float = 60.0) -> Path:
    """Fetch `url` to `dest` if it is not already there with the right MD5 (the checksum the
    data sets publish); raise `NNJError` on a network error or a checksum mismatch."""
    dest = Path(dest)
    if dest.exists() and file_digest(dest) == md5:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    log.info("downloading %s -> %s", url, dest)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        h = hashlib.md5()
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout_s) as response:
            for chunk in iter(lambda: response.read(1 << 20), b""):
                h.update(chunk)
                out.write(chunk)
        got = h.hexdigest()
        if got != md5:
            raise NNJError(
                f"checksum mismatch for {url}: expected md5 {md5}, got {got}; the file was not saved "
                "(a wrong mirror or a damaged download; try again or give data.path=...)"
            )
        os.replace(tmp, dest)
        return dest
    except (urllib.error.URLError, OSError) as err:
        raise NNJError(f"could not download {url} ({err}); give data.path=... to use local files") from None
    finally:
        tmp.unlink(missing_ok=True)

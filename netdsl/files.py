"""Writing output files safely: to a temporary file renamed into place, never over an input."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from netdsl.errors import Diagnostic, NetdslError


def write_atomic(path: str | Path, data: str | bytes, protect: Iterable[str | Path] = ()) -> None:
    """Write `data` to `path` so that a failure leaves any previous file untouched.

    Refuses to overwrite any file in `protect` (the spec files that were read).
    """
    target = Path(path)
    for p in protect:
        try:
            if target.exists() and target.resolve() == Path(p).resolve():
                raise NetdslError(Diagnostic(f"refusing to overwrite the input spec {path}",
                                             None, "io", help="choose another output path"))
        except OSError:
            continue
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise NetdslError(Diagnostic(f"cannot write {path}: folder {folder} does not exist",
                                     None, "io"))
    mode = "wb" if isinstance(data, bytes) else "w"
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, mode, **({} if isinstance(data, bytes) else {"encoding": "utf-8"})) as f:
            f.write(data)
        os.chmod(tmp, _permissions(target))
        os.replace(tmp, target)
    except OSError as exc:
        raise NetdslError(Diagnostic(f"cannot write {path}: {exc.strerror}", None, "io")) from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _permissions(target: Path) -> int:
    """Keep an existing file's mode; a new one gets what the umask allows (mkstemp makes 0600)."""
    try:
        return target.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask

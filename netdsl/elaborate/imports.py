"""Which files a spec may import, and where an import is looked for.

By default a spec may import `.net` files under its own folder (the root spec's, for its imports
too) and the bundled block library; any other folder must be named (`include=[...]` in the API,
`--include DIR` or `NETDSL_PATH` on the command line). Paths are compared after symlinks are
resolved, so a link cannot lead out. A file outside is refused before it is opened: an import
never reads, and an error never quotes, what is not a spec (`import "/proc/self/environ"`).

An import is looked for next to the importing file first, then in each include folder.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from netdsl.errors import Diagnostic, NetdslError
from netdsl.syntax import ast

# The bundled block library (specs/lib of the source tree). The one place that says where it is.
LIBRARY = Path(__file__).resolve().parents[2] / "specs" / "lib"
SUFFIX = ".net"
INCLUDE_HELP = "--include DIR (netdsl.load(..., include=[DIR]))"


@dataclass(frozen=True)
class ImportPolicy:
    """The folders imports may come from (`roots`, real paths) and the extra folders searched
    (`include`)."""

    roots: tuple[Path, ...]
    include: tuple[Path, ...] = ()
    home: str = "."  # the spec's folder as the user wrote it, for messages

    @staticmethod
    def for_spec(path: str, include: tuple[str, ...] | list[str] = ()) -> ImportPolicy:
        """The policy for a root spec at `path` (source text: the current folder)."""
        home = Path.cwd() if path.startswith("<") else Path(path).parent
        extra = tuple(Path(os.path.realpath(d)) for d in include)
        roots = (Path(os.path.realpath(home)), Path(os.path.realpath(LIBRARY)), *extra)
        return ImportPolicy(roots, extra, "the current folder" if path.startswith("<")
                            else str(home))

    def resolve(self, importer: str, item: ast.Import) -> str:
        """The path of the file `item` imports; a located error if there is none it may read."""
        name = item.path
        if not name.endswith(SUFFIX) or "\x00" in name:
            raise NetdslError(Diagnostic(f'cannot import "{_shown(name)}": only {SUFFIX} '
                                         "files can be imported", item.span, "import"))
        base = Path.cwd() if importer.startswith("<") else Path(importer).parent
        candidates = [base / name] + [folder / name for folder in self.include]
        for candidate in candidates:
            real = Path(os.path.realpath(candidate))
            if not self.allows(real):
                continue
            if os.path.exists(real):  # False for any error, a name too long included
                return str(candidate)
        if not any(self.allows(Path(os.path.realpath(c))) for c in candidates):
            raise NetdslError(Diagnostic(
                f'cannot import "{_shown(name)}": it is outside the folders imports may read',
                item.span, "import", help=f"a spec may import {SUFFIX} files under its folder "
                f"({self.home}) and the bundled library; to allow another folder, add "
                f"{INCLUDE_HELP}"))
        raise NetdslError(Diagnostic(f'cannot find the imported file "{_shown(name)}"', item.span,
                                     "import", help=f"imports are relative to the importing "
                                                    f"file's folder ({base})"))

    def allows(self, real: Path) -> bool:
        return any(real == root or real.is_relative_to(root) for root in self.roots)


def _shown(name: str) -> str:
    return name if len(name) <= 120 and name.isprintable() else repr(name[:120])[1:-1] + "..."


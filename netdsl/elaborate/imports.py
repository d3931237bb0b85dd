"""Which files a spec may import, and where an import is looked for.

By default a spec may import `.net` files under its own folder (the root spec's, for its imports
too) and the bundled block library; any other folder must be named (`include=[...]` in the API,
`--include DIR` or `NETDSL_PATH` on the command line). Paths are compared after symlinks are
resolved, so a link cannot lead out. A file outside is refused before it is opened: an import
never reads, and an error never quotes, what is not a spec (`import "/proc/self/environ"`).

An import is looked for next to the importing file first, then in each include folder. An
import of the bundled block library, `import "std/NAME"` (`.net` optional), is looked for in
each include folder's `std/` subfolder and then in the library itself: a user's file of the
same name is used only when the user names its folder (`--include`, `NETDSL_PATH`), never
because it happens to lie next to the spec.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from netdsl.bundled import LIBRARY, STD_PREFIX, SUFFIX
from netdsl.errors import Diagnostic, NetdslError, did_you_mean
from netdsl.syntax import ast

INCLUDE_HELP = "--include DIR or NETDSL_PATH (netdsl.load(..., include=[DIR]))"


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
        if "\x00" not in name and name.startswith(STD_PREFIX):
            return self._library(item)
        if not name.endswith(SUFFIX) or "\x00" in name:
            raise NetdslError(Diagnostic(f'cannot import "{_shown(name)}": only {SUFFIX} '
                                         "files can be imported", item.span, "import"))
        base = Path.cwd() if importer.startswith("<") else Path(importer).parent
        candidates = [base / name] + [folder / name for folder in self.include]
        found = self._first(candidates)
        if found:
            return found
        if not any(self.allows(Path(os.path.realpath(c))) for c in candidates):
            raise NetdslError(Diagnostic(
                f'cannot import "{_shown(name)}": it is outside the folders imports may read',
                item.span, "import", help=f"a spec may import {SUFFIX} files under its folder "
                f"({self.home}) and the bundled library; to allow another folder, add "
                f"{INCLUDE_HELP}"))
        searched = f" and then in {len(self.include)} include folder(s)" if self.include else ""
        raise NetdslError(Diagnostic(f'cannot find the imported file "{_shown(name)}"', item.span,
                                     "import", help=f"imports are looked for in the importing "
                                     f"file's folder ({base}){searched}; to search another "
                                     f"folder, add {INCLUDE_HELP}"))

    def _library(self, item: ast.Import) -> str:
        """`std/NAME`: the include folders' std/NAME.net, then the bundled library's NAME.net."""
        name = item.path[len(STD_PREFIX):]
        file = name if name.endswith(SUFFIX) else name + SUFFIX
        found = self._first([folder / "std" / file for folder in self.include] + [LIBRARY / file])
        if found:
            return found
        known = [STD_PREFIX + p.stem for p in LIBRARY.glob(f"*{SUFFIX}")]
        hint = did_you_mean(STD_PREFIX + file[:-len(SUFFIX)], known)
        raise NetdslError(Diagnostic(
            f'the bundled library has no "{_shown(name)}"', item.span, "import",
            help=hint or f"it has: {', '.join(sorted(known))}"))

    def _first(self, candidates: list[Path]) -> str | None:
        """The first candidate that exists and may be read."""
        for candidate in candidates:
            real = Path(os.path.realpath(candidate))
            if self.allows(real) and os.path.exists(real):  # False for any error
                return str(candidate)
        return None

    def allows(self, real: Path) -> bool:
        return any(real == root or real.is_relative_to(root) for root in self.roots)


def _shown(name: str) -> str:
    return name if len(name) <= 120 and name.isprintable() else repr(name[:120])[1:-1] + "..."


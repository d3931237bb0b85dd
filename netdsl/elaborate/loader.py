"""Reads a spec and its imports into a `Program`: every block, network and global value."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from netdsl.elaborate.builtins import builtin_env
from netdsl.elaborate.values import Env, Evaluator, Function
from netdsl.errors import Diagnostic, NetdslError, Span, SpecError
from netdsl.syntax import ast
from netdsl.syntax.parser import parse

MAX_FILE_BYTES = 50_000_000


@dataclass
class Program:
    """All definitions reachable from one root file, in one namespace."""

    root: ast.Module
    modules: dict[str, ast.Module] = field(default_factory=dict)
    blocks: dict[str, ast.BlockDef] = field(default_factory=dict)
    networks: dict[str, ast.BlockDef] = field(default_factory=dict)
    env: Env = field(default_factory=builtin_env)
    imported_by: dict[str, Span] = field(default_factory=dict)  # path -> the import statement

    def import_notes(self, span: Span | None) -> list[tuple[Span | None, str]]:
        """'imported from a.net:1:1' notes for a span in an imported file."""
        notes: list[tuple[Span | None, str]] = []
        path = span.path if span else None
        seen = set()
        while path in self.imported_by and path not in seen:
            seen.add(path)
            site = self.imported_by[path]
            notes.append((site, f"imported from {site}"))
            path = site.path
        return notes


def read_source(path: str) -> str:
    """The text of a spec file; bad bytes and unreadable files become located errors."""
    p = Path(path)
    try:
        if p.stat().st_size > MAX_FILE_BYTES:
            raise NetdslError(Diagnostic(f"{path}: the file is larger than "
                                         f"{MAX_FILE_BYTES // 1_000_000} MB", None, "limit"))
        data = p.read_bytes()
    except IsADirectoryError:
        raise NetdslError(Diagnostic(f"{path} is a directory, not a spec file", None,
                                     "io")) from None
    except OSError as exc:
        raise NetdslError(Diagnostic(f"cannot read {path}: {exc.strerror}", None, "io")) from None
    return decode_source(data, path)


def read_stream(stream: BinaryIO, path: str) -> str:
    """The text of a spec read from an open stream (`-`: standard input), named `path` in
    diagnostics; like a file, at most MAX_FILE_BYTES."""
    data = stream.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise NetdslError(Diagnostic(f"{path}: the input is larger than "
                                     f"{MAX_FILE_BYTES // 1_000_000} MB", None, "limit"))
    return decode_source(data, path)


def decode_source(data: bytes, path: str) -> str:
    """The text of spec bytes read from `path` (a file, or `<stdin>`); bad UTF-8 is located."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise NetdslError(Diagnostic(f"the file is not valid UTF-8 (byte 0x{data[exc.start]:02x})",
                                     Span(path, line, col, line, col + 1), "syntax",
                                     help="save the file as UTF-8")) from None


def load_program(source: str, path: str) -> Program:
    """Parse `source` (the text of `path`) and everything it imports, then evaluate globals."""
    root = parse(source, path)
    program = Program(root)
    _load(program, root, stack=[])
    _define(program)
    return program


def _load(program: Program, module: ast.Module, stack: list[str]) -> None:
    key = _key(module.path)
    stack = stack + [key]
    for item in module.items:
        if not isinstance(item, ast.Import):
            continue
        target = _resolve(module.path, item)
        tkey = _key(target)
        if tkey in stack:
            cycle = " -> ".join(Path(p).name for p in stack[stack.index(tkey):] + [tkey])
            raise NetdslError(Diagnostic(f"import cycle: {cycle}", item.span, "import"))
        if tkey in program.modules:
            continue
        try:
            text = read_source(target)
        except NetdslError as exc:
            for d in exc.diagnostics:
                d.message = d.message.replace(target, f'"{item.path}"')
                d.span = d.span or item.span
            raise
        program.imported_by[target] = item.span
        try:
            child = parse(text, target)
        except NetdslError as exc:
            for d in exc.diagnostics:
                d.notes.extend(program.import_notes(d.span or Span(target, 1, 1, 1, 1)))
            raise
        program.modules[tkey] = child
        _load(program, child, stack)
    program.modules[key] = module


def _key(path: str) -> str:
    if path.startswith("<"):
        return path
    return str(Path(path).resolve())


def _resolve(importer: str, item: ast.Import) -> str:
    base = Path.cwd() if importer.startswith("<") else Path(importer).parent
    target = base / item.path
    if not target.is_file():
        raise NetdslError(Diagnostic(f'cannot find the imported file "{item.path}"', item.span,
                                     "import", help=f"imports are relative to the importing "
                                                    f"file's folder ({base})"))
    return str(target) if not importer.startswith("<") else str(target)


def _define(program: Program) -> None:
    """Register blocks and networks; evaluate global values and defs, imports first."""
    evaluator = Evaluator()
    origin: dict[str, Span] = {}
    errors: list[Diagnostic] = []
    for module in program.modules.values():
        for item in module.items:
            if isinstance(item, ast.Import):
                continue
            name = item.name
            if name in origin:
                first = origin[name]
                errors.append(Diagnostic(f"'{name}' is defined twice", item.span, "name",
                                         notes=[(first, f"first defined at {first}")]
                                         + program.import_notes(item.span)))
                continue
            origin[name] = item.span
            if isinstance(item, ast.BlockDef):
                (program.networks if item.is_network else program.blocks)[name] = item
            elif isinstance(item, ast.Def):
                program.env.vars[name] = Function(name, item.params, item.body, program.env)
            else:
                try:
                    program.env.vars[name] = evaluator.eval(item.value, program.env)
                except SpecError as exc:
                    diag = exc.diagnostic()
                    diag.notes.extend(program.import_notes(diag.span))
                    errors.append(diag)
                except RecursionError:
                    errors.append(Diagnostic(f"'{name}' is nested too deeply to evaluate",
                                             item.span, "limit"))
    if errors:
        raise NetdslError(errors)

"""Reads a spec and its imports into a `Program`: every block, network and global value."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from netdsl.elaborate.budget import Budget
from netdsl.elaborate.builtins import BUILTINS, builtin_env
from netdsl.elaborate.constructs import CONSTRUCTS
from netdsl.elaborate.imports import ImportPolicy
from netdsl.elaborate.values import Env, Evaluator, Function
from netdsl.errors import Diagnostic, NetdslError, Span, SpecError
from netdsl.files import read_spec
from netdsl.limits import MAX_ERRORS, MAX_IMPORT_DEPTH
from netdsl.ops import REGISTRY
from netdsl.syntax import ast
from netdsl.syntax.lexer import TokenLimit
from netdsl.syntax.parser import parse


@dataclass
class Program:
    """All definitions reachable from one root file, in one namespace."""

    root: ast.Module
    modules: dict[str, ast.Module] = field(default_factory=dict)
    blocks: dict[str, ast.BlockDef] = field(default_factory=dict)
    networks: dict[str, ast.BlockDef] = field(default_factory=dict)
    env: Env = field(default_factory=builtin_env)
    imported_by: dict[str, Span] = field(default_factory=dict)  # path -> the import statement
    budget: Budget = field(default_factory=Budget)  # the work budget of the whole load
    # (call site, attribute) where a whole-number attribute was given a float (`conv(64 * w)`
    # with w = 1.0): the analysis reads 64.0 as 64, and so must the compiled module
    whole_floats: set[tuple[Span, str]] = field(default_factory=set)
    # arguments that gave a list attribute a single number (`reshape(k)`, k = 192), which the
    # analysis reads as a one-entry list, and so must the compiled module
    one_entry: set[Span] = field(default_factory=set)

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

    @property
    def files(self) -> list[str]:
        """The real path of every file read: the root spec (unless it was text) and imports."""
        return [key for key in self.modules if not key.startswith("<")]


def read_source(path: str) -> str:
    """The text of a spec file; bad bytes and unreadable files become located errors."""
    return read_spec(path)


class Reader:
    """Where a load gets each file's text and syntax tree: the disk and the parser. An editor
    passes its own (open buffers before the disk, trees kept by content)."""

    def read(self, path: str) -> str:
        return read_source(path)

    def parse(self, text: str, path: str, limit: TokenLimit) -> ast.Module:
        return parse(text, path, limit)


def load_program(source: str, path: str, budget: Budget | None = None,
                 include: tuple[str, ...] | list[str] = (),
                 reader: Reader | None = None) -> Program:
    """Parse `source` (the text of `path`) and everything it imports, then evaluate globals.

    Imports may read `.net` files under `path`'s folder, the bundled library and `include`."""
    budget = budget or Budget()
    reader = reader or Reader()
    limit = budget.tokens()
    root = reader.parse(source, path, limit)
    budget.parsed(limit)
    program = Program(root, budget=budget)
    _load(program, root, [], ImportPolicy.for_spec(path, include), reader)
    _define(program)
    return program


def _load(program: Program, module: ast.Module, stack: list[str], policy: ImportPolicy,
          reader: Reader) -> None:
    key = _key(module.path)
    stack = stack + [key]
    for item in module.items:
        if not isinstance(item, ast.Import):
            continue
        target = policy.resolve(module.path, item)
        tkey = _key(target)
        if tkey in stack:
            cycle = " -> ".join(Path(p).name for p in stack[stack.index(tkey):] + [tkey])
            raise NetdslError(Diagnostic(f"import cycle: {cycle}", item.span, "import"))
        if tkey in program.modules:
            continue
        if len(stack) > MAX_IMPORT_DEPTH:
            raise NetdslError(Diagnostic(f"imports nested more than {MAX_IMPORT_DEPTH} deep",
                                         item.span, "limit",
                                         help="import the files from fewer levels"))
        try:
            text = reader.read(target)
        except NetdslError as exc:
            for d in exc.diagnostics:
                d.message = d.message.replace(target, f'"{item.path}"')
                if d.span is None or d.span.line == 0:
                    d.span = item.span
            raise
        program.imported_by[target] = item.span
        limit = program.budget.tokens()
        try:
            child = reader.parse(text, target, limit)
        except NetdslError as exc:
            for d in exc.diagnostics:
                d.notes.extend(program.import_notes(d.span or Span(target, 1, 1, 1, 1)))
            raise
        program.budget.parsed(limit)
        program.modules[tkey] = child
        _load(program, child, stack, policy, reader)
    program.modules[key] = module


def _key(path: str) -> str:
    if path.startswith("<"):
        return path
    return str(Path(path).resolve())


def reserved(name: str) -> str | None:
    """What a top-level name would hide, or None: operators, `identity`, `residual` and the
    builtin functions keep their meaning in every spec, whatever it imports."""
    if name in REGISTRY or name in CONSTRUCTS:
        return f"the operator '{name}'"
    if name in BUILTINS:
        return f"the builtin function '{name}'"
    return None


def _define(program: Program) -> None:
    """Register blocks and networks; evaluate global values and defs, imports first."""
    evaluator = Evaluator(budget=program.budget)
    origin: dict[str, Span] = {}
    errors: list[Diagnostic] = []
    for module in program.modules.values():
        for item in module.items:
            if isinstance(item, ast.Import):
                continue
            name = item.name
            hidden = reserved(name)
            if hidden is not None:
                errors.append(Diagnostic(f"'{name}' is already {hidden}", item.span, "name",
                                         notes=program.import_notes(item.span),
                                         help="choose another name: a definition may not "
                                              "replace an operator or a builtin function"))
                continue
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
                    if exc.code == "limit":  # the budget is spent: every later value would say so
                        break
                except RecursionError:
                    errors.append(Diagnostic(f"'{name}' is nested too deeply to evaluate",
                                             item.span, "limit"))
            if len(errors) >= MAX_ERRORS:  # as compilers do: enough to act on
                break
        else:
            continue
        break  # out of the budget, or enough errors
    if errors:
        raise NetdslError(errors)

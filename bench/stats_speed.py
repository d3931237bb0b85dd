"""How long it takes to get a network's params and MACs: netdsl against the peers.

netdsl in-process is `netdsl.load(path).stats()` from a fresh load every time; the netdsl command
is `netdsl stats --format json` as a whole process. Each peer in-process builds the torchvision
model and runs the tool (the user must build the model); each peer process is a `python -c` that
imports torch, torchvision and the tool, builds and counts. Goals: the command >= 10x faster
than the fastest peer process, in-process >= 50x faster than the fastest peer in-process.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import peers  # noqa: E402
from deep_models import PREACT_SPEC  # noqa: E402
from timing import (  # noqa: E402
    ROOT,
    compile_bytecode,
    interleaved,
    ms,
    netdsl_command,
    process_case,
    table,
)

MODELS = ["resnet50", "resnet152", "densenet121", "efficientnet_b0", "preact_resnet1001"]
IN_PROCESS_ROUNDS, PROCESS_ROUNDS = 5, 2
COMMAND_GOAL, IN_PROCESS_GOAL = 10, 50


def spec_path(model: str, scratch: Path) -> tuple[Path | None, str]:
    """The zoo spec for a model; the deep one falls back to the benchmark's own spec."""
    path = ROOT / "specs" / f"{model}.net"
    if path.exists():
        return path, f"specs/{path.name}"
    if model == "preact_resnet1001":
        path = scratch / "preact_resnet1001.net"
        path.write_text(PREACT_SPEC)
        return path, "bench/deep_models.py (no zoo spec yet)"
    return None, "no spec in the zoo"


def working(model: str, names: list[str]) -> list[str]:
    """The peers that can count this model (torchscan fails on some, e.g. EfficientNet); running
    each once also warms its imports, which are the process column's business."""
    ok = []
    for peer in names:
        try:
            peers.COUNTERS[peer](model)
        except Exception:  # noqa: BLE001 - a peer's failure is reported, not fatal
            continue
        ok.append(peer)
    return ok


def measure(model: str, path: Path, names: list[str]) -> dict[str, float]:
    import netdsl
    inproc = {"netdsl": lambda: netdsl.load(path).stats()}
    inproc |= {peer: (lambda p=peer: peers.COUNTERS[p](model)) for peer in names}
    times = interleaved(inproc, IN_PROCESS_ROUNDS)
    procs = {"netdsl": process_case([*netdsl_command(), "stats", str(path), "--format", "json",
                                     "--max-nodes", "10000000"])}
    procs |= {peer: process_case(peers.process_argv(peer, model)) for peer in names}
    times |= {f"{name} process": t for name, t in interleaved(procs, PROCESS_ROUNDS).items()}
    return times


def phases(path: Path, rounds: int = 5) -> list[str]:
    """Where netdsl's in-process time goes: reading and parsing the spec and its imports,
    elaborating the graph, and the analyses (shapes are inferred while elaborating)."""
    from netdsl.analysis import summarize
    from netdsl.elaborate import elaborate, load_program, read_source
    from netdsl.syntax.parser import _parser
    samples: dict[str, list[float]] = {"parse": [], "elaborate": [], "analyse": []}
    for _ in range(rounds):
        start = time.perf_counter()
        program = load_program(read_source(str(path)), str(path))
        parsed = time.perf_counter()
        top = elaborate(program, None, {}, 10_000_000, None)
        built = time.perf_counter()
        summarize(top, "float32")
        done = time.perf_counter()
        for key, (a, b) in zip(samples, [(start, parsed), (parsed, built), (built, done)],
                               strict=True):
            samples[key].append(b - a)
    tokens = 0
    for module in program.modules.values():
        text = Path(module.path).read_text(encoding="utf-8")
        tokens += sum(1 for _ in _parser().lex(text))
    times = {k: statistics.median(v) for k, v in samples.items()}
    layers = top.meta["layers"]
    return [ms(times["parse"]), f"{tokens:,}", f"{times['parse'] / tokens * 1e6:.1f} us",
            ms(times["elaborate"]), ms(times["analyse"]), f"{layers:,}",
            f"{(times['elaborate'] + times['analyse']) / layers * 1e6:.1f} us"]


def report() -> str:
    compile_bytecode()
    warnings.filterwarnings("ignore")
    import torch
    torch.set_num_threads(2)
    everyone = peers.available()
    summary, detail, notes, split = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for model in MODELS:
            path, source = spec_path(model, Path(tmp))
            if path is None:
                notes.append(f"- {model}: skipped, {source}.")
                continue
            print(f"stats_speed: {model}", file=sys.stderr)
            names = working(model, everyone)
            failed = sorted(set(everyone) - set(names))
            t = measure(model, path, names)
            best_in = min(names, key=lambda p: t[p])
            best_proc = min(names, key=lambda p: t[f"{p} process"])
            peer_proc = t[f"{best_proc} process"]
            r_in, r_proc = t[best_in] / t["netdsl"], peer_proc / t["netdsl process"]
            summary.append([model, ms(t["netdsl"]), f"{ms(t[best_in])} ({best_in})",
                            f"{r_in:,.0f}x", _goal(r_in, IN_PROCESS_GOAL),
                            ms(t["netdsl process"]), f"{ms(peer_proc)} ({best_proc})",
                            f"{r_proc:,.1f}x", _goal(r_proc, COMMAND_GOAL)])
            split.append([model, ms(t[best_in] / IN_PROCESS_GOAL), *phases(path)])
            for name in ["netdsl", *names]:
                detail.append([model, name, ms(t[name]), ms(t[f"{name} process"])])
            notes.append(f"- {model}: spec {source}"
                         + (f"; {', '.join(failed)} failed on this model" if failed else ""))
    return "\n\n".join([
        "Median wall time to get params and MACs "
        f"({IN_PROCESS_ROUNDS} interleaved rounds in-process, {PROCESS_ROUNDS} for processes; "
        "torch limited to 2 threads). Ratio = fastest peer / netdsl.",
        table(["model", "netdsl in-process", "fastest peer in-process", "ratio",
               f"goal {IN_PROCESS_GOAL}x", "netdsl command", "fastest peer process", "ratio",
               f"goal {COMMAND_GOAL}x"], summary),
        "Where netdsl's in-process time goes (median of 5; shapes are inferred while "
        "elaborating; analyse = params, MACs, memory and receptive fields of every layer), "
        f"beside the time the {IN_PROCESS_GOAL}x goal allows (the fastest peer's / "
        f"{IN_PROCESS_GOAL}). Where the budget is smaller than reading and parsing the spec's "
        "files, no speed-up of the later phases can meet it:",
        table(["model", f"{IN_PROCESS_GOAL}x budget", "parse + imports", "tokens", "per token",
               "elaborate", "analyse", "layers", "per layer"], split),
        "Every tool, in-process and as a whole process:",
        table(["model", "tool", "in-process", "process"], detail),
        "\n".join(notes),
    ])


def _goal(ratio: float, goal: float) -> str:
    return "met" if ratio >= goal else f"missed ({ratio / goal:.0%} of goal)"


if __name__ == "__main__":
    print(report())

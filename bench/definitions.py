"""Stats once per definition against the flat elaboration it replaced, measured side by side.

The baseline is netdsl as it was before blocks became definitions (commit BASELINE), exported
with `git archive` into a temporary folder and run from there in the same rounds as the current
tree: each round times, in-process and per tree, `netdsl.load(spec).stats()` with a fresh load,
and once more with the complete per-layer table (`stats().layers`, every row with its receptive
field read). Goal (issue 13): at least 5x faster in-process on preact_resnet1001 and on a
100,000-layer repeated-block spec, with the table. Each figure is the best of ROUNDS rounds in
each of PROCESSES processes, the trees taking turns: as `timeit` advises, the round least
disturbed by the rest of the machine (on these shared machines a whole process can run 1.6x
slower than the next).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scaling import residual_spec  # noqa: E402
from timing import PYTHON, ROOT, table  # noqa: E402

BASELINE = "d252103421da8a9626b788152f53a6b73a23ca84"
GOAL = 5.0
ROUNDS = 5
PROCESSES = 5

CHILD = r"""
import gc, json, sys, time
sys.path.insert(0, sys.argv[1])
import netdsl
path, rounds = sys.argv[2], int(sys.argv[3])
netdsl.load(path, max_nodes=10_000_000).stats()
totals, table = [], []
for _ in range(rounds):
    stats = None  # the last round's network is freed and collected before the clock starts
    gc.collect()
    start = time.perf_counter()
    stats = netdsl.load(path, max_nodes=10_000_000).stats()
    totals.append(time.perf_counter() - start)
    stats = None
    gc.collect()
    start = time.perf_counter()
    stats = netdsl.load(path, max_nodes=10_000_000).stats()
    rows = len([r.rf for r in stats.layers if not r.is_block])
    table.append(time.perf_counter() - start)
print(json.dumps({"stats": min(totals), "table": min(table),
                  "rows": rows, "params": stats.params, "macs": stats.macs}))
"""


def export_baseline(folder: Path) -> Path:
    """The baseline tree, from git, without a working copy of it."""
    archive = subprocess.run(["git", "archive", BASELINE, "netdsl"], cwd=ROOT, check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


def best_of(trees: tuple[Path, ...], spec: Path) -> list[dict]:
    """Each tree's best figures over PROCESSES processes, the trees taking turns."""
    runs: dict[Path, list[dict]] = {tree: [] for tree in trees}
    for _ in range(PROCESSES):
        for tree in trees:
            runs[tree].append(measure(tree, spec, ROUNDS))
    return [_best(found) for found in runs.values()]


def _best(found: list[dict]) -> dict:
    return {**found[0], "stats": min(r["stats"] for r in found),
            "table": min(r["table"] for r in found)}


def measure(tree: Path, spec: Path, rounds: int) -> dict:
    done = subprocess.run([PYTHON, "-c", CHILD, str(tree), str(spec), str(rounds)],
                          capture_output=True, text=True, check=True, cwd=spec.parent)
    return json.loads(done.stdout)


def report() -> str:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        baseline = export_baseline(Path(tmp))
        repeated = Path(tmp) / "residual_100k.net"
        repeated.write_text(residual_spec(100_000), encoding="utf-8")
        cases = {"preact_resnet1001": ROOT / "specs" / "preact_resnet1001.net",
                 "100,000-layer repeated block": repeated}
        for name, spec in cases.items():
            print(f"definitions: {name}", file=sys.stderr)
            before, after = best_of((baseline, ROOT), spec)
            assert (before["params"], before["macs"], before["rows"]) == \
                (after["params"], after["macs"], after["rows"]), name
            ratio = before["stats"] / after["stats"]
            with_table = before["table"] / after["table"]
            rows.append([name, f"{after['rows']:,}", _ms(before["stats"]), _ms(after["stats"]),
                         f"{ratio:,.1f}x", _ms(before["table"]), _ms(after["table"]),
                         f"{with_table:,.1f}x",
                         "met" if min(ratio, with_table) >= GOAL else "missed"])
    head = ["spec", "layers", "flat (before)", "definitions", "ratio", "with table, before",
            "with table, now", "ratio", f"goal {GOAL:g}x"]
    return (f"Baseline: commit `{BASELINE[:7]}` (flat elaboration), exported with `git archive`"
            f" and run in turn with this tree. Best of {ROUNDS} in-process rounds in each of "
            f"{PROCESSES} processes per tree, of "
            "`netdsl.load(spec).stats()`; 'with table' also makes every per-layer row and reads "
            "its receptive field. Both trees give the same params, MACs and number of rows "
            "(checked).\n\n" + table(head, rows))


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms"


if __name__ == "__main__":
    print(report())

"""How check+stats scale with the size of a network: 100 to 100,000 layers.

Three generated families: a deep plain net written out line by line (the parser sees every
layer), a deep residual net (a block repeated), and a DenseNet-style concatenation chain (growth 1,
a 1x1 transition every 8 layers so channels stay bounded). Each case runs in a fresh process
that warms the parser on a tiny spec, then times load + check + stats and reports its peak RSS.
Goals: growth exponent <= 1.1, 10,000 layers < 1 s, 100,000 layers < 10 s.
"""

from __future__ import annotations

import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from timing import PYTHON, ROOT, table  # noqa: E402

SIZES = [100, 1_000, 10_000, 100_000]
MAX_NODES = 10_000_000
MAX_STEPS = 10 ** 9  # the default work budget stops well before 100,000 layers


def plain_spec(layers: int) -> str:
    """conv -> relu pairs, one line each: two layers a line."""
    body = "\n".join("    conv(8, 3, p=1) -> relu" for _ in range(max(layers // 2, 1)))
    return f"network plain() {{\n    input x: [8, 8, 8]\n{body}\n}}\n"


def residual_spec(layers: int) -> str:
    """add(identity, conv -> relu): three layers a block."""
    return f"""\
block unit() {{
    add {{
        identity
        conv(8, 3, p=1) -> relu
    }}
}}

network residual_chain(n: int = {max(layers // 3, 1)}) {{
    input x: [8, 8, 8]
    unit * n
}}
"""


def dense_spec(layers: int) -> str:
    """Eight dense layers (bn, relu, conv, concat) and a transition: 33 layers a unit."""
    return f"""\
block dense_layer(growth: int = 1) {{
    concat {{
        identity
        bn -> relu -> conv(growth, 3, p=1, bias=false)
    }}
}}

block dense_unit() {{
    dense_layer(1) * 8
    conv(16, 1, bias=false)
}}

network dense(n: int = {max(layers // 33, 1)}) {{
    input x: [16, 8, 8]
    dense_unit * n
}}
"""


FAMILIES = {"plain (written out)": plain_spec, "residual (repeated block)": residual_spec,
            "dense concat chain": dense_spec}


def child(path: str) -> None:
    """Runs in the measured process: prints seconds, layers and peak RSS as JSON."""
    import netdsl
    netdsl.load("network warm() {\n input x: [1, 4, 4]\n relu\n}\n").stats()
    base_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    net = netdsl.load(path, max_nodes=MAX_NODES, max_steps=MAX_STEPS)
    failures = net.check()
    stats = net.stats()
    seconds = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert not failures and stats.params > 0
    print(json.dumps({"seconds": seconds, "layers": net.top.meta["layers"], "peak_kb": peak_kb,
                      "growth_kb": peak_kb - base_kb}))


def run_case(path: Path, rounds: int) -> dict:
    results = []
    for _ in range(rounds):
        done = subprocess.run([PYTHON, __file__, "--child", str(path)], cwd=ROOT,
                              capture_output=True, text=True, env={"PYTHONPATH": str(ROOT)})
        if done.returncode != 0:
            raise RuntimeError(done.stderr[-2000:])
        results.append(json.loads(done.stdout))
    results.sort(key=lambda r: r["seconds"])
    return results[len(results) // 2]


def exponent(points: list[tuple[int, float]]) -> float:
    """Least-squares slope of log(time) against log(layers)."""
    xs = [math.log(n) for n, _ in points]
    ys = [math.log(t) for _, t in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    covariance = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    return covariance / sum((x - mx) ** 2 for x in xs)


def report() -> str:
    rows, fits = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for family, make in FAMILIES.items():
            points = []
            for size in SIZES:
                print(f"scaling: {family} {size}", file=sys.stderr)
                path = Path(tmp) / f"case{size}.net"
                path.write_text(make(size))
                r = run_case(path, 1 if size >= 10_000 else 3)
                points.append((r["layers"], r["seconds"]))
                goal = {10_000: 1.0, 100_000: 10.0}.get(size)
                verdict = "" if goal is None else ("met" if r["seconds"] < goal else
                                                   f"missed (goal {goal:g} s)")
                rows.append([family, f"{r['layers']:,}", f"{r['seconds']:.3f} s",
                             f"{r['seconds'] / r['layers'] * 1e6:.1f} us",
                             f"{r['peak_kb'] / 1024:,.0f} MB", f"{r['growth_kb'] / 1024:,.0f} MB",
                             verdict])
            all_fit, top_fit = exponent(points), exponent(points[-2:])
            fits.append([family, f"{all_fit:.2f}", f"{top_fit:.2f}",
                         "met" if max(all_fit, top_fit) <= 1.1 else "missed"])
    return "\n\n".join([
        "Time of load + check + stats in a fresh process (parser warmed on a tiny spec first; "
        "median of 3 runs, 1 from 10,000 layers), and the process's peak RSS (ru_maxrss) with its "
        "growth over the warmed interpreter.",
        table(["family", "layers", "time", "per layer", "peak RSS", "RSS growth",
               "goal (10k < 1 s, 100k < 10 s)"], rows),
        "Fitted growth exponent of time against layers (log-log least squares over all four "
        "sizes, and between the two largest, where fixed costs no longer flatter it); goal <= 1.1:",
        table(["family", "exponent (all sizes)", "exponent (10k -> 100k)", "goal"], fits),
    ])


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        child(sys.argv[2])
    else:
        print(report())

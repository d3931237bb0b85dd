"""`netdsl sweep`: every combination, one row each, against torchvision's EfficientNet built
with the same compound scaling and torch's FlopCounterMode; CSV, JSON, the plot, the
progress bar and the worker processes."""

from __future__ import annotations

import csv
import io
import json

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode
from torchvision.models.efficientnet import EfficientNet, _efficientnet_conf

from netdsl.backends.html.charts import pareto_front
from tests.conftest import SPECS

SPEC = str(SPECS / "efficientnet_b0.net")


def efficientnet(width: float, depth: float) -> torch.nn.Module:
    settings, last = _efficientnet_conf("efficientnet_b0", width_mult=width, depth_mult=depth)
    return EfficientNet(settings, 0.2, last_channel=last).eval()


def test_every_combination_against_torchvision(cli):
    done = cli("sweep", SPEC, "--set", "width=0.5,1.0,1.1", "--set", "depth=1.0,1.2",
               "--format", "csv")
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert [(r["width"], r["depth"]) for r in rows] == [
        ("0.5", "1.0"), ("0.5", "1.2"), ("1.0", "1.0"), ("1.0", "1.2"), ("1.1", "1.0"),
        ("1.1", "1.2")]
    for row in rows:
        model = efficientnet(float(row["width"]), float(row["depth"]))
        assert int(row["params"]) == sum(p.numel() for p in model.parameters())
        assert row["output"] == "1000" and row["failed"] == "" and row["error"] == ""


def test_macs_and_peak_memory_of_variants_against_torch(cli):
    """MACs against FlopCounterMode (FLOPs / 2) at a small input, for two variants."""
    done = cli("sweep", SPEC, "--set", "width=0.5,1.1", "--input", "3x64x64", "--format",
               "json")
    assert done.returncode == 0, done.stderr
    for row in json.loads(done.stdout):
        counter = FlopCounterMode(display=False)
        with torch.no_grad(), counter:
            efficientnet(row["width"], 1.0)(torch.zeros(1, 3, 64, 64))
        assert row["macs"] == counter.get_total_flops() // 2
        assert row["outputs"] == {"classifier.1": [1000]}


def test_failed_expectations_are_reported_per_variant(cli):
    done = cli("sweep", str(SPECS / "resnet18.net"), "--set", "classes=10,1000")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["classes", "params", "MACs", "peak", "memory", "output",
                                "expect"]
    assert lines[2].split()[0] == "10" and lines[2].endswith("1 failed (line 9)")
    assert lines[3].split()[0] == "1000" and lines[3].endswith("ok")


def test_a_variant_that_fails_is_a_row_with_its_error(cli):
    done = cli("sweep", str(SPECS / "lenet5.net"), "--set", "classes=10,0", "--format", "json")
    assert done.returncode == 0
    rows = json.loads(done.stdout)
    assert rows[0]["error"] is None and rows[1]["error"]
    assert "classes=0" in done.stderr


def test_a_sweep_whose_every_variant_fails_writes_nothing(cli, tmp_path):
    """Every variant an error: exit 2, and the table and plot files are not replaced (the
    plot was an empty page written over the old one, with exit 0)."""
    plot, table = tmp_path / "p.html", tmp_path / "t.csv"
    plot.write_text("ORIGINAL")
    done = cli("sweep", str(SPECS / "lenet5.net"), "--set", "classes=abc,0", "--plot",
               str(plot), "-o", str(table))
    assert done.returncode == 2
    assert "classes=\"abc\"" in done.stderr and "classes=0" in done.stderr
    assert plot.read_text() == "ORIGINAL" and not table.exists()


def test_the_table_and_the_plot_in_one_file_are_refused(cli, tmp_path):
    out = tmp_path / "q.html"
    done = cli("sweep", str(SPECS / "lenet5.net"), "--set", "classes=1,2", "--format", "json",
               "-o", str(out), "--plot", str(tmp_path / "." / "q.html"))
    assert done.returncode == 2 and not out.exists()
    assert "the table and the plot would both be written to" in done.stderr


@pytest.mark.slow  # a pool of worker processes
def test_worker_processes_give_the_same_rows(cli):
    args = ["sweep", SPEC, "--set", "width=0.5,0.6,0.7,0.8,0.9,1.0,1.1,1.2", "--set",
            "depth=0.8,1.0,1.2,1.4", "--input", "3x64x64", "--format", "json"]
    one = cli(*args, "--jobs", "1")
    two = cli(*args, "--jobs", "2")
    assert one.returncode == two.returncode == 0
    assert len(json.loads(one.stdout)) == 32 and one.stdout == two.stdout


def test_the_plot_is_a_self_contained_page(cli, tmp_path):
    out = tmp_path / "sweep.html"
    done = cli("sweep", SPEC, "--set", "width=0.5,1.0", "--plot", str(out), "-o",
               str(tmp_path / "s.csv"))
    assert done.returncode == 0, done.stderr
    page = out.read_text()
    assert "Pareto front" in page and "<script src" not in page


def test_pareto_front_against_brute_force():
    points = [(5, 9), (3, 7), (4, 4), (6, 2), (7, 3), (4, 8), (2, 10), (6, 6), (9, 1)]
    beaten = {i for i, (p, m) in enumerate(points)
              if any(q <= p and n <= m and (q, n) != (p, m) for q, n in points)}
    front = pareto_front(points)
    assert set(front) == set(range(len(points))) - beaten
    assert [points[i] for i in front] == [(2, 10), (3, 7), (4, 4), (6, 2), (9, 1)]


def test_values_split_outside_brackets():
    from netdsl.cli.sweep import split_values
    assert split_values("1,[2, 3],4") == ["1", "[2, 3]", "4"]
    assert split_values('"a,b",c') == ['"a,b"', "c"]


def test_progress_bar_after_a_second(monkeypatch):
    import sys

    import netdsl.cli.sweep as sweep
    clock = iter(range(100))
    monkeypatch.setattr(sweep.time, "perf_counter", lambda: next(clock) * 0.6)
    written = io.StringIO()
    written.isatty = lambda: True  # type: ignore[method-assign]
    monkeypatch.setattr(sys, "stderr", written)
    assert list(sweep._progress(iter(range(5)), 5, True)) == [0, 1, 2, 3, 4]
    assert "variant" in written.getvalue()  # tqdm's bar, counting variants
    quiet = io.StringIO()
    quiet.isatty = lambda: True  # type: ignore[method-assign]
    monkeypatch.setattr(sys, "stderr", quiet)
    assert list(sweep._progress(iter(range(5)), 5, False)) == [0, 1, 2, 3, 4]
    assert quiet.getvalue() == ""


# ------------------------------------------------------------------ arguments, located

NET = "network n(c: int = 4) {\n    input x: [3, 8, 8]\n    conv(c, 3)\n}\n"


@pytest.fixture
def small(tmp_path):
    path = tmp_path / "p.net"
    path.write_text(NET)
    return str(path)


@pytest.mark.parametrize("arguments, where, words", [
    # reported at -o, with a hint about --format, which --plot does not take
    (["--plot", "p.net"], "--plot:1:2", "cannot tell the output format from 'p.net'"),
    (["--set", "c="], "--set:1:3", "--set c has an empty value"),  # were unlocated
    (["--set", "c=1,,2"], "--set:1:5", "--set c has an empty value"),
    (["--set", "c=1", "--set", "c=2,3"], "--set:1:1", "--set c is given twice"),
    (["--set", "c=1,(2"], "--set:1:5",  # was at column 3, of 'c=(2'
     "unexpected end of file: this '(' is never closed"),
    (["--set", "c=1,2", "--format", "csv", "-o", "x.html", "--plot", "x.html"], "--plot:1:1",
     "the table and the plot would both be written to x.html"),
    # wrote the table and a 4.8 MB page, one after the other, to standard output
    (["--set", "c=1,2", "--plot", "-"], "--plot:1:1",
     "the table and the plot would both be written to standard output"),
])
def test_a_bad_argument_is_located(cli, small, tmp_path, arguments, where, words):
    done = cli("sweep", small, *arguments, cwd=tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith(f"{where}: error: {words}"), done.stderr
    assert "--format" not in done.stderr.partition("help:")[2] or "--plot" not in where
    assert not (tmp_path / "x.html").exists()


def test_a_failed_variant_is_located_with_its_code(cli, small):
    """`variant c=[1, 2]: ...` had neither a place nor a code."""
    done = cli("sweep", small, "--set", "c=[1,2],[3]")
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"{small}:1:1: error: variant c=[1, 2]: 'n' parameter 'c' must be int, got list "
        f"[1, 2]  [type]",
        f"{small}:1:1: error: variant c=[3]: 'n' parameter 'c' must be int, got list [3]  [type]"]

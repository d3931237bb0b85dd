"""Helpers for the diagram tests: reading back what Graphviz was given and what it drew."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

import netdsl
from tests.conftest import SPECS

NODE_LINE = re.compile(r'^\s*"((?:[^"\\]|\\.)*)" \[')
EDGE_LINE = re.compile(r'^\s*"((?:[^"\\]|\\.)*)" -> "((?:[^"\\]|\\.)*)"')
CLUSTER_LINE = re.compile(r'^\s*subgraph "cluster_((?:[^"\\]|\\.)*)" \{')
SVG = "{http://www.w3.org/2000/svg}"


def dot_nodes(dot: str) -> list[str]:
    """Ids of the node statements, the legend left out."""
    ids = [m.group(1) for line in dot.splitlines() if (m := NODE_LINE.match(line))]
    return [i for i in ids if i != "legend"]


def dot_edges(dot: str) -> list[tuple[str, str]]:
    """(tail, head) of each edge as drawn: an edge written backwards (`dir=back`, the decoder
    of a U) turned around."""
    edges = []
    for line in dot.splitlines():
        if m := EDGE_LINE.match(line):
            pair = (m.group(1), m.group(2))
            edges.append(pair[::-1] if "dir=back" in line else pair)
    return edges


def dot_clusters(dot: str) -> list[str]:
    return [m.group(1) for line in dot.splitlines() if (m := CLUSTER_LINE.match(line))]


def svg_counts(svg: str) -> dict[str, int]:
    """How many nodes, edges and clusters Graphviz actually drew."""
    root = ET.fromstring(svg)
    counts = {"node": 0, "edge": 0, "cluster": 0}
    for g in root.iter(SVG + "g"):
        kind = g.get("class")
        if kind in counts:
            counts[kind] += 1
    return counts


@pytest.fixture(scope="module")
def networks():
    """Zoo networks by name, each loaded once per test module."""
    cache: dict[str, netdsl.Network] = {}

    def get(name: str) -> netdsl.Network:
        if name not in cache:
            cache[name] = netdsl.load(SPECS / f"{name}.net")
        return cache[name]
    return get

"""The graph IR shared by every analysis and backend."""

from netdsl.ir.graph import Expectation, Graph
from netdsl.ir.node import Node, Scope

__all__ = ["Expectation", "Graph", "Node", "Scope"]

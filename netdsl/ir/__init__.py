"""The IR: definitions (block instantiations) with their nodes and calls, and the flat layer
graph derived from them."""

from netdsl.ir.definition import Call, Definition, Instance, is_port, port
from netdsl.ir.graph import Expectation, Graph
from netdsl.ir.node import Node, Scope

__all__ = ["Call", "Definition", "Expectation", "Graph", "Instance", "Node", "Scope", "is_port",
           "port"]

"""Backends: tables and json (here), PyTorch modules and Python source, graphviz diagrams."""

"""Analyses over the graph IR: costs, memory, receptive fields, summaries, expectations."""

from netdsl.analysis.expect import check_expectations
from netdsl.analysis.summary import Row, Stats, analyse, summarize

__all__ = ["Row", "Stats", "analyse", "check_expectations", "summarize"]

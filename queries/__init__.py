"""Queries over the lineage graph (used by the command line)."""

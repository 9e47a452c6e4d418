"""The ``lineage`` command line: the entry point that builds Settings and calls the adapters."""

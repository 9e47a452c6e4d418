"""The pure core of the lineage product.

OpenLineage event models, entity identities, the run-merge rules, the mapping from a merged
run to graph mutations, and the settings object. Nothing in this package does I/O or imports
Kafka, Faust or Neo4j: the adapters in ``producers``, ``stream_processor`` and ``sinks`` call it.
"""

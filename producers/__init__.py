"""Getting OpenLineage events into Kafka: the publisher, topic set-up, and (later) HTTP ingest."""

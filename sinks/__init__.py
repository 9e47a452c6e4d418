"""Writing graph mutations into Neo4j: the Cypher, the writer, and the Kafka consumer loop."""

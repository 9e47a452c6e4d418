"""``lineage stack``: real Apache Kafka and Neo4j Community on loopback, without Docker.

The servers come from Maven Central (resolved with Maven into a cache folder, reused on later
runs), run as plain JVM processes bound to 127.0.0.1, and keep their data in a data folder.
``up`` is idempotent, ``down`` stops exactly the processes ``up`` started (by pid, checked
against the command line), ``status`` reports addresses for other tools.
"""

"""The Faust processor: validate OpenLineage events, merge runs, emit graph mutations."""

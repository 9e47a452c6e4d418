# The lineage product: one image, one console script. docker-compose.yml runs it twice,
# as `lineage process` (the Faust stream processor) and `lineage sink` (the Neo4j writer).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
# README.md* : pyproject.toml names a readme, but the build only warns when it is missing.
COPY pyproject.toml README.md* ./
COPY lineage ./lineage
COPY lineage_cli ./lineage_cli
COPY lineage_stack ./lineage_stack
COPY producers ./producers
COPY stream_processor ./stream_processor
COPY sinks ./sinks
COPY queries ./queries
COPY observability ./observability
# Runtime dependencies only (no [dev] extra); the sources are removed once installed.
RUN pip install . && cd / && rm -rf /src

RUN useradd --system --uid 10001 --home-dir /data --no-create-home lineage \
    && mkdir /data && chown lineage /data
USER lineage
WORKDIR /data
# Settings.home: the processor's Faust data dir lives under it.
ENV LINEAGE_HOME=/data

ENTRYPOINT ["lineage"]
CMD ["--help"]

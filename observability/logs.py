"""Logging set-up, called once by entry points only.

At INFO (the default) the log holds what an operator needs: the product's own lines (where a
component listens, what it refused, what it recovered from) and every warning. The libraries'
start-up chatter (Faust's service tree and recovery tables, aiokafka's group protocol, uvicorn's
banner) is kept for LINEAGE_LOG_LEVEL=DEBUG, as are librdkafka's transient "Coordinator load in
progress" warnings from a broker that has just started (the client retries them by itself).
"""

from __future__ import annotations

import logging

CHATTY = ("faust", "mode", "aiokafka", "uvicorn.error")
TRANSIENT = ("Coordinator load in progress",)


class DropTransient(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(text in message for text in TRANSIENT)


def configure_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    quiet(level)


def quiet(level: str) -> None:
    """Libraries' INFO lines and transient warnings off, unless ``level`` is DEBUG."""
    if level.upper() == "DEBUG":
        return
    for name in CHATTY:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLevelName(level.upper())))
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, DropTransient) for f in handler.filters):
            handler.addFilter(DropTransient())

"""Replaying OpenLineage events from files and folders into Kafka: ``lineage publish PATH...``.

producers.event_files.iter_events turns paths into items, one per event, each with the event's
raw bytes and where it came from (what is read and how: see that module); ``replay`` validates
them and publishes the valid ones; ``format_summary`` and ``Summary.as_dict`` report the result.

Exit status for ``lineage publish`` (``Summary.exit_code``): 0 when every event found was sent
(also when none was found), 1 when any was rejected or not acknowledged by Kafka, 130 when
interrupted (after flushing what was queued and printing the partial summary).
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TextIO

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from lineage.events import InvalidEvent, decode
from lineage.settings import Settings
from producers.event_files import EXAMPLES, EventFiles, FileStats, Item, Problem
from producers.publisher import DeliveryFailed

DEFAULT_MAX_EVENT_BYTES: int = Settings.model_fields["max_event_bytes"].default
BATCH_SIZE = 500  # events handed to the publisher at a time


# --- publishing ------------------------------------------------------------------------------


class Publisher(Protocol):
    """What replay needs of producers.publisher.EventPublisher."""

    def publish(self, events: Iterable[bytes]) -> int: ...

    def flush(self, timeout: float = ...) -> int: ...


@dataclass(frozen=True, slots=True)
class Example:
    origin: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"origin": self.origin, "message": self.message}


@dataclass
class Rejections:
    count: int = 0
    examples: list[Example] = field(default_factory=list)


@dataclass
class Summary:
    queued: int = 0  # handed to the publisher
    failed: int = 0  # queued but not acknowledged by Kafka
    failures: list[str] = field(default_factory=list)  # the first delivery errors
    rejected_by_reason: dict[str, Rejections] = field(default_factory=dict)
    # Valid events that break the spec in a way the processor accepts (lineage.events.LENIENCIES).
    lenient_by_kind: Counter[str] = field(default_factory=Counter)
    files: FileStats = field(default_factory=FileStats)
    seconds: float = 0.0
    interrupted: bool = False

    @property
    def sent(self) -> int:
        return self.queued - self.failed

    @property
    def rejected(self) -> int:
        return sum(r.count for r in self.rejected_by_reason.values())

    @property
    def processed(self) -> int:
        return self.queued + self.rejected

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return 130
        return 1 if self.rejected or self.failed else 0

    def reject(self, origin: str, problem: Problem) -> None:
        group = self.rejected_by_reason.setdefault(problem.reason, Rejections())
        group.count += 1
        if len(group.examples) < EXAMPLES:
            group.examples.append(Example(origin, problem.message))

    def fail(self, errors: Sequence[tuple[str | None, str]], count: int) -> None:
        """Count ``count`` queued events as not delivered, keeping the first ``errors`` as examples."""
        for key, error in errors:
            if len(self.failures) < EXAMPLES:
                self.failures.append(f"key {key}: {error}" if key else error)
        self.failed = min(self.queued, self.failed + count)

    def as_dict(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "rejected": self.rejected,
            "failed": self.failed,
            "rejected_by_reason": {
                reason: {"count": group.count, "examples": [e.as_dict() for e in group.examples]}
                for reason, group in sorted(self.rejected_by_reason.items())
            },
            "lenient_by_kind": dict(sorted(self.lenient_by_kind.items())),
            "failures": list(self.failures),
            "files_read": self.files.read,
            "files_skipped": self.files.skipped,
            "skipped_files": list(self.files.skipped_examples),
            "seconds": round(self.seconds, 3),
            "interrupted": self.interrupted,
            "exit_code": self.exit_code,
        }


def replay(
    items: Iterable[Item],
    publisher: Publisher,
    validate: bool = True,
    progress: ProgressLine | None = None,
    *,
    max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
    batch_size: int = BATCH_SIZE,
    flush_timeout: float = 60.0,
) -> Summary:
    """Publish the items, validated first unless ``validate`` is False; see the module docs.

    Rejected items are counted, not sent. With ``validate=False`` every item that has bytes is
    sent, and the processor dead-letters what is invalid. Whatever happens, what was queued is
    flushed before returning (or raising), and undelivered events are counted as failed.
    """
    summary = Summary()
    if isinstance(items, EventFiles):
        summary.files = items.stats
    started = time.monotonic()
    if progress is not None:
        progress.start()
    batch: list[bytes] = []
    try:
        for item in items:
            problem = item.problem
            if problem is None and validate:
                try:
                    summary.lenient_by_kind.update(decode(item.raw, max_event_bytes).leniencies)
                except InvalidEvent as exc:
                    problem = Problem(exc.reason, exc.message)
            if problem is not None and (validate or not item.raw):
                summary.reject(item.origin, problem)
            else:
                batch.append(item.raw)
                if len(batch) >= batch_size:
                    summary.queued += publisher.publish(batch)
                    batch = []
            if progress is not None:
                progress.update(summary)
    except KeyboardInterrupt:
        summary.interrupted = True
    finally:
        try:
            if batch:
                summary.queued += publisher.publish(batch)
            publisher.flush(flush_timeout)
        except DeliveryFailed as exc:
            summary.fail(exc.errors, exc.failed)
        summary.seconds = time.monotonic() - started
        if progress is not None:
            progress.finish(summary)
    return summary


# --- reporting -------------------------------------------------------------------------------


class ProgressLine:
    """Progress on a stream (stderr): on a terminal a live rich progress bar (counts, rate, time),
    redrawn at most ``refresh`` times a second and replaced by the final line when done; elsewhere
    (a file, a pipe, CI logs) only the final line."""

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        refresh: float = 5.0,
        live: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.live = _is_tty(self.stream) if live is None else live
        self.clock = clock
        self._started = clock()
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        self._refresh = refresh

    def start(self) -> None:
        self._started = self.clock()
        if not self.live:
            return
        console = Console(file=self.stream, force_terminal=True)
        self._bar = Progress(
            SpinnerColumn(),
            TextColumn("publishing"),
            BarColumn(),
            TextColumn("{task.fields[counts]}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            refresh_per_second=self._refresh,
        )
        self._task = self._bar.add_task("publishing", total=None, counts="")
        self._bar.start()

    def update(self, summary: Summary) -> None:
        if self._bar is None or self._task is None:
            return
        self._bar.update(self._task, counts=self.counts(summary, self.clock() - self._started, done=False))

    def finish(self, summary: Summary) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
        self.stream.write(self.line(summary, self.clock() - self._started, done=True) + "\n")
        self.stream.flush()

    @staticmethod
    def counts(summary: Summary, seconds: float, done: bool) -> str:
        rate = summary.processed / seconds if seconds > 0 else 0.0
        parts = [
            f"{summary.sent if done else summary.queued:,} {'sent' if done else 'queued'}",
            f"{summary.rejected:,} rejected",
        ]
        if done:
            parts.append(f"{summary.failed:,} failed")
        parts += [f"{summary.files.read:,} {_plural(summary.files.read, 'file')}", f"{rate:,.0f} events/s"]
        return ", ".join(parts)

    @classmethod
    def line(cls, summary: Summary, seconds: float, done: bool) -> str:
        return ("publish: " if done else "publishing: ") + cls.counts(summary, seconds, done)


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def format_summary(summary: Summary) -> str:
    """The summary for people: counts, then example origins of what was rejected or failed."""
    files = summary.files
    seconds = max(summary.seconds, 1e-9)
    head = (
        f"sent {summary.sent:,} {_plural(summary.sent, 'event')} from {files.read:,} "
        f"{_plural(files.read, 'file')} in {summary.seconds:.1f} s ({summary.processed / seconds:,.0f} events/s)"
    )
    lines = [head]
    if summary.interrupted:
        lines.append("interrupted: the events after these were not read")
    if files.skipped:
        more = ", ..." if files.skipped > len(files.skipped_examples) else ""
        lines.append(
            f"skipped {files.skipped:,} other {_plural(files.skipped, 'file')} (not .json, .jsonl or .ndjson): "
            + ", ".join(files.skipped_examples)
            + more
        )
    if summary.rejected:
        lines.append(f"rejected {summary.rejected:,} {_plural(summary.rejected, 'event')}, not sent:")
        width = max(len(reason) for reason in summary.rejected_by_reason)
        for reason, group in sorted(summary.rejected_by_reason.items(), key=lambda kv: (-kv[1].count, kv[0])):
            label = f"{reason:<{width}}  {group.count:>6,}"
            for i, example in enumerate(group.examples):
                lines.append(f"  {label if i == 0 else ' ' * len(label)}  {example.origin}: {example.message}")
            if group.count > len(group.examples):
                lines.append(f"  {' ' * len(label)}  ... and {group.count - len(group.examples):,} more")
    if summary.lenient_by_kind:
        counts = ", ".join(f"{kind} {n:,}" for kind, n in sorted(summary.lenient_by_kind.items()))
        lines.append(f"sent leniently (off the spec, accepted; see docs/accepted-events.md): {counts}")
    if summary.failed:
        lines.append(f"failed {summary.failed:,} {_plural(summary.failed, 'event')}: Kafka did not acknowledge them:")
        lines += [f"  {failure}" for failure in summary.failures]
    if summary.rejected:
        lines.append(
            "fix what was rejected and publish it again (--no-validate sends invalid events anyway, "
            "for the processor to dead-letter)"
        )
    if summary.processed == 0 and not summary.interrupted:
        lines.append("no events found")
    return "\n".join(lines)


def _plural(count: int, word: str) -> str:
    return word if count == 1 else word + "s"

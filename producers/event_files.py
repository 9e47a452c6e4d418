"""Reading OpenLineage events out of files and folders, for ``lineage publish PATH...``.

``iter_events`` turns paths into items, one per event, each with the event's raw bytes and where
it came from, and what is wrong with it when that is already known (not JSON, unreadable);
``EventFiles.stats`` counts the files read and skipped. producers.replay validates and publishes
the items.

What is read:

- A folder is walked recursively in sorted path order; its ``*.json``, ``*.jsonl`` and
  ``*.ndjson`` files (any case) are read, every other file is skipped and counted. A file named
  on the command line is always read, whatever its name, like a ``.json`` file.
- ``.jsonl`` / ``.ndjson``: one event per line, read line by line (a multi-GB file is never held
  in memory); blank lines are ignored. Origin ``path:LINE``.
- ``.json``: if its first non-blank line is a whole ``{...}``, it is read like NDJSON (a file of
  that one line is a single event, origin ``path``). Otherwise the file is one JSON document:
  an object is one event (origin ``path``), an array is one event per element (origin
  ``path#INDEX``, from 0). Documents are read whole, so use NDJSON for very large replays.
- Raw bytes: single-object files and NDJSON lines are sent exactly as they are in the file, less
  surrounding whitespace and a UTF-8 byte-order mark; array elements are re-serialised compactly
  (``json.dumps`` with ``separators=(",", ":")``, UTF-8).
- What is not JSON (or not UTF-8) becomes an item rejected with reason ``not-json`` naming its
  origin; a file or folder that cannot be read becomes one rejected with reason ``unreadable``.
  Neither stops the replay.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

EVENT_SUFFIXES = frozenset({".json", ".jsonl", ".ndjson"})
LINE_SUFFIXES = frozenset({".jsonl", ".ndjson"})
EXAMPLES = 5  # example origins kept per rejection reason (and skipped files, delivery errors)

_SPACE = b" \t\r\n"
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class Problem:
    reason: str  # a stable code: InvalidEvent reasons, plus "unreadable" for files
    message: str


@dataclass(frozen=True, slots=True)
class Item:
    """One event as found: its raw bytes, where it came from, and what is wrong with it if known."""

    raw: bytes
    origin: str  # "path", "path:LINE" (NDJSON, from 1) or "path#INDEX" (array element, from 0)
    problem: Problem | None = None


@dataclass
class FileStats:
    read: int = 0
    skipped: int = 0
    skipped_examples: list[str] = field(default_factory=list)

    def skip(self, path: Path) -> None:
        self.skipped += 1
        if len(self.skipped_examples) < EXAMPLES:
            self.skipped_examples.append(str(path))


class EventFiles(Iterator[Item]):
    """The items in some files and folders, read lazily; ``stats`` counts files as they are met."""

    def __init__(self, paths: Iterable[str | os.PathLike[str]]) -> None:
        self.paths = [Path(p) for p in paths]
        self.stats = FileStats()
        self._items = self._walk()

    def __next__(self) -> Item:
        return next(self._items)

    def _walk(self) -> Iterator[Item]:
        for given in self.paths:
            if given.is_dir():
                errors: list[OSError] = []
                for path in _files_under(given, errors):
                    if path.suffix.lower() in EVENT_SUFFIXES:
                        yield from self._file(path)
                    else:
                        self.stats.skip(path)
                for error in errors:
                    yield Item(b"", str(error.filename or given), Problem("unreadable", _os_message(error)))
            elif given.exists():
                yield from self._file(given)
            else:
                yield Item(b"", str(given), Problem("unreadable", "no such file or folder"))

    def _file(self, path: Path) -> Iterator[Item]:
        self.stats.read += 1
        origin = str(path)
        try:
            with path.open("rb") as file:
                if path.suffix.lower() in LINE_SUFFIXES:
                    yield from _lines(enumerate(file, start=1), origin)
                else:
                    yield from _json_file(file, origin)
        except OSError as exc:
            yield Item(b"", origin, Problem("unreadable", _os_message(exc)))


def iter_events(paths: Iterable[str | os.PathLike[str]]) -> EventFiles:
    """Every event in ``paths`` (files and folders), in order, as Items; see the module docs."""
    return EventFiles(paths)


def _files_under(root: Path, errors: list[OSError]) -> list[Path]:
    found = [Path(folder, name) for folder, _dirs, names in os.walk(root, onerror=errors.append) for name in names]
    return sorted(found, key=lambda p: p.relative_to(root).parts)


def _json_file(file: BinaryIO, origin: str) -> Iterator[Item]:
    lines = enumerate(file, start=1)
    for lineno, line in lines:
        if lineno == 1:
            line = line.removeprefix(_BOM)
        first = line.strip(_SPACE)
        if first:
            break
    else:
        return  # empty: no events
    if first.startswith(b"{") and first.endswith(b"}"):
        # One event per line; a file of one line is a single-object file.
        for next_lineno, next_line in lines:
            second = next_line.strip(_SPACE)
            if second:
                yield _line_item(first, f"{origin}:{lineno}")
                yield _line_item(second, f"{origin}:{next_lineno}")
                yield from _lines(lines, origin)
                return
        yield _line_item(first, origin)
        return
    document = (line + file.read()).strip(_SPACE)
    try:
        value = _loads(document)
    except _NOT_JSON as exc:
        yield Item(document, origin, Problem("not-json", _json_message(exc, first_line=lineno)))
        return
    if not isinstance(value, list):
        yield Item(document, origin)
        return
    for index, element in enumerate(value):
        yield _element_item(element, f"{origin}#{index}")


def _lines(lines: Iterator[tuple[int, bytes]], origin: str) -> Iterator[Item]:
    for lineno, line in lines:
        raw = (line.removeprefix(_BOM) if lineno == 1 else line).strip(_SPACE)
        if raw:
            yield _line_item(raw, f"{origin}:{lineno}")


def _line_item(raw: bytes, origin: str) -> Item:
    try:
        _loads(raw)
    except _NOT_JSON as exc:
        return Item(raw, origin, Problem("not-json", _json_message(exc)))
    return Item(raw, origin)


def _element_item(element: Any, origin: str) -> Item:
    try:
        return Item(_compact(element, ascii_only=False), origin)
    except UnicodeEncodeError:  # a lone surrogate (from a \ud800 escape): keep it escaped
        return Item(_compact(element, ascii_only=True), origin)
    except ValueError:  # a number too large for a double, such as 1e400
        raw = json.dumps(element, separators=(",", ":")).encode()
        return Item(raw, origin, Problem("not-json", "a number is out of range"))


def _compact(value: Any, ascii_only: bool) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=ascii_only, allow_nan=False).encode("utf-8")


def _loads(raw: bytes) -> Any:
    return json.loads(raw.decode("utf-8"), parse_constant=_not_a_json_constant)


def _not_a_json_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_NOT_JSON = (ValueError, RecursionError)  # JSONDecodeError and UnicodeDecodeError are ValueErrors


def _json_message(exc: Exception, first_line: int = 1) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} (line {exc.lineno + first_line - 1}, column {exc.colno})"
    if isinstance(exc, UnicodeDecodeError):
        return f"not UTF-8: {exc.reason} at byte {exc.start}"
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return str(exc)


def _os_message(exc: OSError) -> str:
    return exc.strerror or str(exc)

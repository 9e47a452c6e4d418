"""Reading events out of files and folders: what is read, in what order, with what origin."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from producers.event_files import Item, Problem, iter_events


def write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def items_of(*paths: Path) -> list[Item]:
    return list(iter_events(paths))


# --- iter_events -----------------------------------------------------------------------------


def test_a_pretty_printed_object_file_is_one_event_kept_byte_exact(tmp_path: Path) -> None:
    text = '\ufeff\n{\n  "eventType": "START",\n  "name": "ünï"  ,\n  "n": 1.50\n}\n\n'
    path = write(tmp_path / "one.json", text)
    assert items_of(path) == [Item(text.removeprefix("\ufeff").strip().encode(), str(path))]


def test_a_one_line_object_file_is_one_event_with_the_file_as_origin(tmp_path: Path) -> None:
    path = write(tmp_path / "one.json", b'{"a": 1,  "b": "\xc3\xbc"}\r\n')
    assert items_of(path) == [Item(b'{"a": 1,  "b": "\xc3\xbc"}', str(path))]


def test_array_elements_are_re_serialised_compactly_with_their_index(tmp_path: Path) -> None:
    path = write(tmp_path / "many.json", '[\n {"a": 1, "b": "ü"},\n {"c": [1, 2.5, null]}, 3\n]\n')
    assert items_of(path) == [
        Item('{"a":1,"b":"ü"}'.encode(), f"{path}#0"),
        Item(b'{"c":[1,2.5,null]}', f"{path}#1"),
        Item(b"3", f"{path}#2"),  # not an object: for the validator to reject
    ]


def test_an_empty_array_or_file_has_no_events(tmp_path: Path) -> None:
    events = iter_events(
        [write(tmp_path / "a.json", "[]"), write(tmp_path / "b.json", "\n \n"), write(tmp_path / "c.ndjson", "")]
    )
    assert list(events) == []
    assert events.stats.read == 3


def test_ndjson_lines_are_kept_byte_exact_and_blank_lines_ignored(tmp_path: Path) -> None:
    lines = [b'{"a": 1,   "x": "\xc3\xbc"}', b"", b"  ", b'{"b":2}', b'{ "c" : 3 }']
    path = write(tmp_path / "events.ndjson", b"\xef\xbb\xbf" + b"\r\n".join(lines) + b"\n")
    assert items_of(path) == [
        Item(lines[0], f"{path}:1"),
        Item(lines[3], f"{path}:4"),
        Item(lines[4], f"{path}:5"),
    ]


def test_a_jsonl_file_of_one_line_keeps_its_line_number(tmp_path: Path) -> None:
    path = write(tmp_path / "events.jsonl", '{"a":1}\n')
    assert items_of(path) == [Item(b'{"a":1}', f"{path}:1")]


def test_a_json_file_holding_ndjson_is_read_line_by_line(tmp_path: Path) -> None:
    path = write(tmp_path / "events.json", '\n{"a":1}\n\n{"b":2}\n{"c":3}\n')
    assert items_of(path) == [
        Item(b'{"a":1}', f"{path}:2"),
        Item(b'{"b":2}', f"{path}:4"),
        Item(b'{"c":3}', f"{path}:5"),
    ]


def test_ndjson_is_streamed_not_read_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    paths = [write(tmp_path / "a.ndjson", '{"a":1}\n' * 1000), write(tmp_path / "b.json", '{"b":1}\n' * 1000)]
    real_open = Path.open

    class NoRead(io.BufferedReader):
        def read(self, size: int | None = -1) -> bytes:
            raise AssertionError("the whole file was read at once")

    def open_without_read(self: Path, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        return NoRead(real_open(self, "rb", buffering=0))

    monkeypatch.setattr(Path, "open", open_without_read)
    assert len(items_of(*paths)) == 2000


def test_a_bad_line_is_rejected_as_not_json_and_the_rest_is_read(tmp_path: Path) -> None:
    path = write(tmp_path / "events.ndjson", b'{"a":1}\n{"b": \n\xff\xfe{}\n{"c": NaN}\n[1]\n{"d":4}\n')
    got = items_of(path)
    assert [(i.origin, i.problem.reason if i.problem else None) for i in got] == [
        (f"{path}:1", None),
        (f"{path}:2", "not-json"),
        (f"{path}:3", "not-json"),
        (f"{path}:4", "not-json"),
        (f"{path}:5", None),  # JSON, if not an object: the validator rejects it
        (f"{path}:6", None),
    ]
    assert got[1].raw == b'{"b":'  # the bytes are kept, to be sent with --no-validate
    assert got[1].problem is not None and "column" in got[1].problem.message
    assert got[2].problem is not None and "UTF-8" in got[2].problem.message


def test_a_bad_file_is_one_not_json_item_and_does_not_stop_the_others(tmp_path: Path) -> None:
    bad = write(tmp_path / "a-bad.json", '\n{\n  "a": 1,\n  "b": \n}\n')
    write(tmp_path / "b-bad-array.json", "[{}, ")
    good = write(tmp_path / "c-good.json", '{"c": 3}')
    got = items_of(tmp_path)
    assert [(i.origin, i.problem.reason if i.problem else None) for i in got] == [
        (str(bad), "not-json"),
        (str(tmp_path / "b-bad-array.json"), "not-json"),
        (str(good), None),
    ]
    assert got[0].problem is not None and "line 5" in got[0].problem.message  # line in the file


def test_folders_are_walked_recursively_in_sorted_order_skipping_other_files(tmp_path: Path) -> None:
    write(tmp_path / "b" / "2.ndjson", '{"n":2}\n{"n":3}\n')
    write(tmp_path / "b" / "1.JSON", '{"n":1}')
    write(tmp_path / "a.jsonl", '{"n":0}\n')
    write(tmp_path / "c" / "d" / "4.json", '[{"n":4}]')
    write(tmp_path / "README.md", "# events")
    write(tmp_path / "b" / "notes.txt", "x")
    named = write(tmp_path.parent / f"{tmp_path.name}-extra.log", '{"n":5}')  # named: read whatever its name
    events = iter_events([tmp_path, named])
    got = list(events)
    assert [json.loads(i.raw)["n"] for i in got] == [0, 1, 2, 3, 4, 5]
    assert [i.origin for i in got][:2] == [f"{tmp_path / 'a.jsonl'}:1", str(tmp_path / "b" / "1.JSON")]
    assert (events.stats.read, events.stats.skipped) == (5, 2)
    assert sorted(events.stats.skipped_examples) == sorted(
        [str(tmp_path / "README.md"), str(tmp_path / "b" / "notes.txt")]
    )


def test_a_missing_path_is_an_unreadable_item(tmp_path: Path) -> None:
    assert items_of(tmp_path / "nope.json") == [
        Item(b"", str(tmp_path / "nope.json"), Problem("unreadable", "no such file or folder"))
    ]

from pathlib import Path

import pytest
from rocksdict import Rdict

from stream_processor.state_check import OFFSET_KEY, StaleState, check_saved_state, saved_offsets, stale


def store(tables: Path, partition: int, offset: int | None) -> None:
    db = Rdict(str(tables / f"runs-{partition}.db"))
    db[b"run-1"] = b"{}"
    if offset is not None:
        db[OFFSET_KEY] = str(offset).encode()
    db.close()


def test_the_saved_offsets_are_read_from_the_stores_on_disk(tmp_path: Path) -> None:
    store(tmp_path, 0, 41)
    store(tmp_path, 2, None)  # a store that never saved an offset
    store(tmp_path, 3, 7)
    assert saved_offsets(tmp_path, "runs", 6) == {0: 41, 3: 7}


def test_state_at_or_past_the_topics_end_is_stale() -> None:
    assert stale({0: 41, 1: 9, 2: 3}, {0: 42, 1: 9, 2: 0}) == {1: (9, 9), 2: (3, 0)}
    assert stale({0: 41}, {}) == {0: (41, 0)}  # a partition the topic no longer has
    assert stale({0: 41}, {0: 100}) == {}


def test_no_saved_state_needs_no_kafka(tmp_path: Path) -> None:
    # Nothing on disk: returns without asking the (unreachable) brokers.
    check_saved_state({"bootstrap.servers": "127.0.0.1:1"}, tmp_path, tmp_path, "runs", "changelog", 6)


def test_the_error_says_which_folder_to_delete(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store(tmp_path, 1, 5)
    monkeypatch.setattr("stream_processor.state_check.changelog_ends", lambda *_: {1: 0})
    with pytest.raises(StaleState, match=r"partition 1 of changelog ends at offset 0.*Delete .*/home/processor"):
        check_saved_state({}, tmp_path / "home", tmp_path, "runs", "changelog", 6)

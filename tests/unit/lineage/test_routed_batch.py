"""Routed batches: the runs topic's messages hold each event as it was sent, with its key and place."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lineage.routed_batch import BadBatch, RoutedEvent, Source, chunks, is_batch, pack, size_of_empty, unpack

entries = st.lists(
    st.tuples(
        st.binary(max_size=60),
        st.binary(max_size=300),
        st.integers(0, 2**31 - 1),
        st.integers(0, 2**63 - 1),
    ),
    max_size=30,
)
topics = st.text(min_size=1, max_size=40)


@given(topics, entries)
def test_a_batch_gives_back_its_events_byte_for_byte_in_order(topic: str, events: list) -> None:
    packed = pack(topic, events)
    assert is_batch(packed)
    assert unpack(packed) == [RoutedEvent(k, v, Source(topic, p, o)) for k, v, p, o in events]


@given(topics, entries, st.integers(0, 800))
def test_chunks_keep_the_order_and_the_limit(topic: str, events: list, limit: int) -> None:
    cut = list(chunks(topic, events, limit))
    assert [e for chunk in cut for e in chunk] == events
    for chunk in cut:
        assert chunk  # no empty message
        assert len(pack(topic, chunk)) <= limit or len(chunk) == 1  # only an event alone may exceed it
    # As few as the limit allows: two neighbours together would not have fitted.
    for first, second in itertools.pairwise(cut):
        assert len(pack(topic, [*first, second[0]])) > limit


def test_an_event_as_the_runs_topic_carried_them_before_is_no_batch() -> None:
    assert not is_batch(b'{"eventType": "START"}')
    assert size_of_empty("t") == len(pack("t", []))


@pytest.mark.parametrize("cut", [5, 12, 30, -1])
def test_a_truncated_or_padded_batch_is_refused(cut: int) -> None:
    packed = pack("openlineage.events", [(b"run", b'{"a": 1}', 3, 17)])
    with pytest.raises(BadBatch):
        unpack(packed[:cut] if cut > 0 else packed + b"x")


def test_a_key_of_any_length_fits() -> None:
    key = b"dataset:ns/" + b"x" * 70_000  # names are not bounded; a key longer than 64 KiB too
    assert unpack(pack("t", [(key, b"{}", 0, 1)]))[0].key == key

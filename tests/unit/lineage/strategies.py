"""Hypothesis strategies for the events of one run (one runId, one job)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone, tzinfo

from hypothesis import strategies as st

from lineage.events import RunEvent
from lineage.merge import MergedRun, merge_event
from tests.unit.factories import dataset, run_event

T0 = datetime(2024, 1, 1, 10, 0, tzinfo=UTC)
OFFSETS: list[tzinfo] = [UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5, minutes=-30))]
DATASET_POOL = [
    ("postgres://db:5432", "public.orders"),
    ("postgres://db:5432", "public.users"),
    ("s3://bucket", "raw/events"),
]
EVENT_TYPES = ["START", "RUNNING", "COMPLETE", "FAIL", "OTHER"]


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


def fold(events: list[RunEvent]) -> MergedRun:
    merged: MergedRun | None = None
    for event in events:
        merged = merge_event(merged, event)
    assert merged is not None
    return merged


def event_times(offsets: list[tzinfo]) -> st.SearchStrategy[datetime]:
    # Few distinct instants so that ties on eventTime are common.
    return st.builds(
        lambda s, tz: at(s).astimezone(tz), st.integers(min_value=0, max_value=4), st.sampled_from(offsets)
    )


facet_values = st.one_of(
    st.just({"_deleted": True}),
    st.fixed_dictionaries({"v": st.integers(min_value=0, max_value=2)}),
    st.fixed_dictionaries(
        {
            "fields": st.lists(
                st.fixed_dictionaries(
                    {"name": st.sampled_from(["id", "email"]), "type": st.sampled_from(["INT", "STRING"])}
                ),
                max_size=2,
            )
        }
    ),
)
column_lineage = st.fixed_dictionaries(
    {
        "fields": st.dictionaries(
            st.sampled_from(["id", "email"]),
            st.fixed_dictionaries(
                {
                    "inputFields": st.lists(
                        st.fixed_dictionaries(
                            {
                                "namespace": st.sampled_from(["postgres://db:5432", "POSTGRESQL://db"]),
                                "name": st.sampled_from(["public.orders", "public.users"]),
                                "field": st.sampled_from(["id", "email"]),
                                "transformations": st.lists(
                                    st.fixed_dictionaries(
                                        {
                                            "type": st.sampled_from(["DIRECT", "INDIRECT"]),
                                            "subtype": st.sampled_from(["IDENTITY", "AGGREGATION", "FILTER"]),
                                            "masking": st.booleans(),
                                        }
                                    ),
                                    max_size=2,
                                ),
                            }
                        ),
                        max_size=2,
                    )
                }
            ),
            max_size=2,
        )
    }
)
facet_maps = st.builds(
    lambda facets, lineage: facets | lineage,
    st.dictionaries(st.sampled_from(["schema", "ownership", "custom"]), facet_values, max_size=3),
    st.dictionaries(st.just("columnLineage"), st.one_of(st.just({"_deleted": True}), column_lineage), max_size=1),
)
dataset_lists = st.lists(
    st.builds(lambda key, facets: dataset(*key, facets), st.sampled_from(DATASET_POOL), facet_maps),
    max_size=3,
)


def run_events(offsets: list[tzinfo] = OFFSETS) -> st.SearchStrategy[RunEvent]:
    return st.builds(
        lambda event_type, time, run_facets, job_facets, inputs, outputs: run_event(
            event_type, time, run_facets=run_facets, job_facets=job_facets, inputs=inputs, outputs=outputs
        ),
        st.sampled_from(EVENT_TYPES),
        event_times(offsets),
        facet_maps,
        facet_maps,
        dataset_lists,
        dataset_lists,
    )


def arrivals(data: st.DataObject, events: st.SearchStrategy[RunEvent]) -> tuple[list[RunEvent], list[RunEvent]]:
    """The events of a run, and one arrival of them: any order, with any duplicates."""
    originals = data.draw(st.lists(events, min_size=1, max_size=6), label="events")
    duplicates = data.draw(st.lists(st.sampled_from(originals), max_size=4), label="duplicates")
    arrival = data.draw(st.permutations(originals + duplicates), label="arrival")
    return originals, arrival

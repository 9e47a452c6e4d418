"""Graph mutations: what the ``lineage.graph`` topic carries.

Each mutation is an idempotent full-state upsert of one node or one relationship (never a
delta), so writing a mutation twice, or replaying the topic, leaves the same graph. Labels,
keys and relationship types are checked against ``graph_model`` when a mutation is built or
decoded. A message on the topic is a change set: a JSON array of the mutations one event
caused, keyed like the event on the runs topic (a single JSON object is read as one mutation).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal, NotRequired

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator, with_config
from typing_extensions import TypedDict

from lineage.graph_model import NODE_KEYS, RELATIONSHIPS, Label, RelType

PropValue = str | int | float | bool | list[str] | list[int] | list[float] | None


class NodeRef(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    label: Label
    key: dict[str, str]

    @model_validator(mode="after")
    def _key_matches_model(self) -> NodeRef:
        expected = NODE_KEYS[self.label]
        if tuple(sorted(self.key)) != tuple(sorted(expected)):
            raise ValueError(f"{self.label} is keyed by {expected}, got {tuple(self.key)}")
        return self

    def sort_key(self) -> tuple[str, ...]:
        return (self.label, *(self.key[k] for k in NODE_KEYS[self.label]))

    def message_key(self) -> str:
        return ":".join(self.sort_key())


class Versioned(BaseModel):
    """One property as one source saw it: the sink keeps, per property, the greatest ``stamp``.

    Used for what many sources describe (a job's or dataset's facets, a field's type). ``value``
    None is a deletion that still carries its stamp, so an older write cannot bring it back.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    stamp: str = Field(min_length=1)
    value: str | None


class NodeUpsert(BaseModel):
    """Set ``props`` (full state); merge ``versioned`` per property, greatest stamp winning."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    op: Literal["node"] = "node"
    node: NodeRef
    props: dict[str, PropValue] = Field(default_factory=dict)
    versioned: dict[str, Versioned] = Field(default_factory=dict)

    def message_key(self) -> str:
        return self.node.message_key()


class EdgeUpsert(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    op: Literal["edge"] = "edge"
    type: RelType
    start: NodeRef
    end: NodeRef
    props: dict[str, PropValue] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _ends_match_model(self) -> EdgeUpsert:
        expected = RELATIONSHIPS[self.type]
        if (self.start.label, self.end.label) != expected:
            raise ValueError(
                f"{self.type} goes from {expected[0]} to {expected[1]}, got {self.start.label} to {self.end.label}"
            )
        return self

    def message_key(self) -> str:
        # Keyed by the start node so that a node and its outgoing edges share a partition
        # and reach a sink in the order the processor emitted them.
        return self.start.message_key()


class FieldVersion(BaseModel):
    """A dataset's field as one version of its schema describes it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    stamp: str = Field(min_length=1)
    type: str | None = None
    description: str | None = None


class Derivation(BaseModel):
    """Column lineage: ``field`` of the dataset is computed from ``source`` (a Field)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    field: str = Field(min_length=1)
    source: NodeRef
    stamp: str = Field(min_length=1)
    types: list[str] = Field(default_factory=list)
    subtypes: list[str] = Field(default_factory=list)
    masking: bool = False
    transformations: str = "[]"  # the transformations as listed, JSON text

    @model_validator(mode="after")
    def _source_is_a_field(self) -> Derivation:
        if self.source.label != "Field":
            raise ValueError(f"a derivation's source is a Field, got {self.source.label}")
        return self


class FieldsUpsert(BaseModel):
    """A dataset's fields (``HAS_FIELD``) and their column lineage (``DERIVED_FROM``), in one.

    Each field's type and description, and each derivation's transformations, keep the version
    with the greatest stamp, like versioned properties; fields and derivations only accumulate.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    op: Literal["fields"] = "fields"
    dataset: NodeRef
    fields: list[FieldVersion] = Field(default_factory=list)
    derived: list[Derivation] = Field(default_factory=list)

    @model_validator(mode="after")
    def _of_a_dataset(self) -> FieldsUpsert:
        if self.dataset.label != "Dataset":
            raise ValueError(f"fields belong to a Dataset, got {self.dataset.label}")
        return self

    def message_key(self) -> str:
        return self.dataset.message_key()


class UsageUpsert(BaseModel):
    """One run's contribution to a job's aggregated ``CONSUMES``/``PRODUCES`` edge to a dataset.

    The sink keeps ``firstSeen`` (the earliest), ``lastSeen`` and ``lastRunId`` (of the latest
    run), and counts ``runCount`` (the job's runs that READ/WROTE the dataset) once per run, so
    any number of deliveries, in any order, give the same edge.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    op: Literal["usage"] = "usage"
    type: Literal["CONSUMES", "PRODUCES"]
    job: NodeRef
    dataset: NodeRef
    runId: str = Field(min_length=1)
    firstSeen: str = Field(min_length=1)
    lastSeen: str = Field(min_length=1)

    @model_validator(mode="after")
    def _ends(self) -> UsageUpsert:
        if (self.job.label, self.dataset.label) != ("Job", "Dataset"):
            raise ValueError(f"{self.type} goes from Job to Dataset, got {self.job.label} to {self.dataset.label}")
        return self

    def message_key(self) -> str:
        return self.job.message_key()


AnyMutation = NodeUpsert | EdgeUpsert | FieldsUpsert | UsageUpsert
Mutation = Annotated[AnyMutation, Field(discriminator="op")]
_MUTATION = TypeAdapter(Mutation)
_CHANGE_SET = TypeAdapter(list[Mutation])


def node(label: Label, props: dict[str, Any] | None = None, **key: str) -> NodeUpsert:
    return NodeUpsert(node=NodeRef(label=label, key=key), props=props or {})


def ref(label: Label, **key: str) -> NodeRef:
    return NodeRef(label=label, key=key)


def encode_mutation(mutation: AnyMutation) -> bytes:
    return mutation.model_dump_json().encode()


def decode_mutation(raw: bytes | str) -> AnyMutation:
    """Parse one mutation; raises pydantic.ValidationError when it breaks the graph model."""
    return _MUTATION.validate_json(raw)


def encode_change_set(mutations: list[AnyMutation]) -> bytes:
    return join_change_set([encode_mutation(m) for m in mutations])


def join_change_set(encoded: list[bytes]) -> bytes:
    """A change set from mutations already encoded (``encode_mutation``)."""
    return b"[" + b",".join(encoded) + b"]"


def too_large_for_a_change_set(mutation: bytes, limit: int) -> bool:
    """Whether an encoded mutation alone, in its brackets, exceeds ``limit`` bytes."""
    return len(mutation) + 2 > limit


def split_change_sets(
    encoded: list[bytes], limit: int, max_mutations: int | None = None
) -> tuple[list[bytes], list[bytes]]:
    """Mutations already encoded, joined in order into change sets of at most ``limit`` bytes
    (and ``max_mutations`` mutations) each; and those that alone would exceed ``limit`` (left out
    of the change sets)."""
    sets: list[bytes] = []
    too_large: list[bytes] = []
    current: list[bytes] = []
    size = 2  # the brackets
    for mutation in encoded:
        if too_large_for_a_change_set(mutation, limit):
            too_large.append(mutation)
            continue
        added = len(mutation) + (1 if current else 0)  # and a comma
        if current and (size + added > limit or len(current) == max_mutations):
            sets.append(join_change_set(current))
            current, size, added = [], 2, len(mutation)
        current.append(mutation)
        size += added
    if current:
        sets.append(join_change_set(current))
    return sets, too_large


# The same format as plain JSON objects, for the sink: pydantic checks these several times faster
# than it builds the models above (``read_change_set``). Kept field for field like the models;
# tests/unit/lineage/test_mutations.py holds the two to one answer.
Text = Annotated[str, Field(min_length=1)]
_FORBID = ConfigDict(extra="forbid")


@with_config(_FORBID)
class RefDict(TypedDict):
    label: Label
    key: dict[str, str]


@with_config(_FORBID)
class VersionedDict(TypedDict):
    stamp: Text
    value: str | None


@with_config(_FORBID)
class NodeDict(TypedDict):
    op: Literal["node"]
    node: RefDict
    props: NotRequired[dict[str, PropValue]]
    versioned: NotRequired[dict[str, VersionedDict]]


@with_config(_FORBID)
class EdgeDict(TypedDict):
    op: Literal["edge"]
    type: RelType
    start: RefDict
    end: RefDict
    props: NotRequired[dict[str, PropValue]]


@with_config(_FORBID)
class FieldVersionDict(TypedDict):
    name: Text
    stamp: Text
    type: NotRequired[str | None]
    description: NotRequired[str | None]


@with_config(_FORBID)
class DerivationDict(TypedDict):
    field: Text
    source: RefDict
    stamp: Text
    types: NotRequired[list[str]]
    subtypes: NotRequired[list[str]]
    masking: NotRequired[bool]
    transformations: NotRequired[str]


@with_config(_FORBID)
class FieldsDict(TypedDict):
    op: Literal["fields"]
    dataset: RefDict
    fields: NotRequired[list[FieldVersionDict]]
    derived: NotRequired[list[DerivationDict]]


@with_config(_FORBID)
class UsageDict(TypedDict):
    op: Literal["usage"]
    type: Literal["CONSUMES", "PRODUCES"]
    job: RefDict
    dataset: RefDict
    runId: Text
    firstSeen: Text
    lastSeen: Text


MutationDict = NodeDict | EdgeDict | FieldsDict | UsageDict
_CHANGE_SET_DICTS = TypeAdapter(list[Annotated[MutationDict, Field(discriminator="op")]])


def read_change_set(raw: bytes | str) -> tuple[list[MutationDict], list[str]]:
    """``decode_change_set`` for the sink: the valid mutations as plain JSON objects (what
    ``model_dump`` of the models gives, optional fields possibly left out), checked against the
    graph model as the models check them; a message with any problem is read through the models,
    which say what is wrong with each part."""
    try:
        items = _CHANGE_SET_DICTS.validate_json(raw)
    except ValidationError:
        items = None
    if items is not None and all(_fits_the_model(m) for m in items):
        return items, []
    mutations, problems = decode_change_set(raw)
    return [m.model_dump() for m in mutations], problems  # type: ignore[misc]  # the same shape


def _fits_the_model(m: Any) -> bool:
    """The checks the models' validators make, on a mutation already checked field by field."""
    op = m["op"]
    if op == "node":
        return _ref_fits(m["node"])
    if op == "edge":
        start, end = m["start"], m["end"]
        return _ref_fits(start) and _ref_fits(end) and (start["label"], end["label"]) == RELATIONSHIPS[m["type"]]
    if op == "fields":
        dataset = m["dataset"]
        return (
            _ref_fits(dataset)
            and dataset["label"] == "Dataset"
            and all(_ref_fits(d["source"]) and d["source"]["label"] == "Field" for d in m.get("derived", []))
        )
    job, dataset = m["job"], m["dataset"]
    return _ref_fits(job) and _ref_fits(dataset) and (job["label"], dataset["label"]) == ("Job", "Dataset")


def _ref_fits(ref: Any) -> bool:
    expected = NODE_KEYS[ref["label"]]
    return len(ref["key"]) == len(expected) and all(k in ref["key"] for k in expected)


def decode_change_set(raw: bytes | str) -> tuple[list[AnyMutation], list[str]]:
    """The valid mutations of a message, and a description of each part that is not one."""
    try:
        return _CHANGE_SET.validate_json(raw), []  # the common case, parsed and checked in one call
    except ValidationError:
        pass  # not a list of valid mutations: find the parts that are
    try:
        data = json.loads(raw)
    except ValueError as exc:
        return [], [f"not JSON: {exc}"]
    items = data if isinstance(data, list) else [data]
    mutations: list[AnyMutation] = []
    problems: list[str] = []
    for i, item in enumerate(items):
        try:
            mutations.append(_MUTATION.validate_python(item))
        except ValidationError as exc:
            problems.append(f"item {i}: {exc.errors()[:3]}")
    return mutations, problems

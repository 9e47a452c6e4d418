"""Typed models of the OpenLineage facets that drive the graph (spec 2-0-2, ``spec/facets``).

Facets stay plain data inside an event, so that every facet, known or custom, is written back
exactly as it was sent. The models here only *look at* the known facets when an event is decoded
(``check_facets``) and say what breaks the spec; they never refuse an event: a facet is the
producer's data, and a misshapen one should cost the graph what it cannot read of it (the graph
mapping reads every facet defensively), not the run and its lineage. What ``check_facets``
finds is counted as leniencies (``lineage.events.LENIENCIES``):

- ``facet-not-an-object``: a facet that is a string, a number, a list or null;
- ``facet-without-schema-url``: a facet without ``_producer`` or ``_schemaURL``;
- ``malformed-facet``: a known facet that breaks its schema (``parent`` without a run id, an
  owner without a name, a statistic that is text).

Not checked, and not counted: string formats (``uri``, ``date-time`` inside facets); a malformed
``dataSource.uri`` or ``nominalStartTime`` costs at most one property.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from lineage.naming import is_uuid


class _Facet(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    producer: StrictStr | None = Field(default=None, alias="_producer")
    schemaURL: StrictStr | None = Field(default=None, alias="_schemaURL")


class _Part(BaseModel):
    model_config = ConfigDict(extra="allow")


# --- run facets ----------------------------------------------------------------------------


class ParentRun(_Part):
    runId: StrictStr = Field(min_length=1)

    @field_validator("runId")
    @classmethod
    def _text_id(cls, value: str, info: ValidationInfo) -> str:
        # Any text is a usable run id (lineage.naming.run_key), as for the run's own id.
        if not is_uuid(value):
            lenient(info, "non-uuid-run-id")
        return value


class ParentJob(_Part):
    namespace: StrictStr
    name: StrictStr


class ParentRoot(_Part):
    run: ParentRun
    job: ParentJob


class ParentRunFacet(_Facet):
    run: ParentRun
    job: ParentJob
    root: ParentRoot | None = None


class ErrorMessageRunFacet(_Facet):
    message: StrictStr
    programmingLanguage: StrictStr
    stackTrace: StrictStr | None = None


class NominalTimeRunFacet(_Facet):
    nominalStartTime: StrictStr
    nominalEndTime: StrictStr | None = None


class Tag(_Part):
    key: StrictStr
    value: StrictStr
    source: StrictStr | None = None


class TagsFacet(_Facet):
    tags: list[Tag] = Field(default_factory=list)


# --- job facets ----------------------------------------------------------------------------


class JobTypeJobFacet(_Facet):
    processingType: StrictStr
    integration: StrictStr
    jobType: StrictStr | None = None


class Owner(_Part):
    name: StrictStr
    type: StrictStr | None = None


class OwnershipFacet(_Facet):
    owners: list[Owner] = Field(default_factory=list)


class SQLJobFacet(_Facet):
    query: StrictStr
    dialect: StrictStr | None = None


# --- dataset facets ------------------------------------------------------------------------


class SchemaField(_Part):
    name: StrictStr
    type: StrictStr | None = None
    description: StrictStr | None = None
    ordinal_position: StrictInt | None = None
    fields: list[SchemaField] | None = None


class SchemaDatasetFacet(_Facet):
    fields: list[SchemaField] = Field(default_factory=list)


class SymlinkIdentifier(_Part):
    namespace: StrictStr
    name: StrictStr
    type: StrictStr


class SymlinksDatasetFacet(_Facet):
    identifiers: list[SymlinkIdentifier] = Field(default_factory=list)


class Transformation(_Part):
    type: StrictStr
    subtype: StrictStr | None = None
    description: StrictStr | None = None
    masking: bool | None = None


class InputField(_Part):
    namespace: StrictStr
    name: StrictStr
    field: StrictStr
    transformations: list[Transformation] | None = None


class ColumnLineageField(_Part):
    inputFields: list[InputField]
    transformationDescription: StrictStr | None = None
    transformationType: StrictStr | None = None


class ColumnLineageDatasetFacet(_Facet):
    fields: dict[str, ColumnLineageField]
    dataset: list[InputField] | None = None


class DatasourceDatasetFacet(_Facet):
    name: StrictStr | None = None
    uri: StrictStr | None = None


class PreviousIdentifier(_Part):
    namespace: StrictStr
    name: StrictStr


class LifecycleStateChangeDatasetFacet(_Facet):
    lifecycleStateChange: Literal["ALTER", "CREATE", "DROP", "OVERWRITE", "RENAME", "TRUNCATE"]
    previousIdentifier: PreviousIdentifier | None = None


class DatasetVersionDatasetFacet(_Facet):
    datasetVersion: StrictStr


class StatisticsFacet(_Facet):
    rowCount: StrictInt | None = None
    size: StrictInt | None = None
    fileCount: StrictInt | None = None


class DataQualityMetricsInputDatasetFacet(_Facet):
    rowCount: StrictInt | None = None
    bytes: StrictInt | None = None
    fileCount: StrictInt | None = None
    columnMetrics: dict[str, Any]


RUN_FACETS: dict[str, type[_Facet]] = {
    "parent": ParentRunFacet,
    "errorMessage": ErrorMessageRunFacet,
    "nominalTime": NominalTimeRunFacet,
    "tags": TagsFacet,
}
JOB_FACETS: dict[str, type[_Facet]] = {
    "jobType": JobTypeJobFacet,
    "ownership": OwnershipFacet,
    "tags": TagsFacet,
    "sql": SQLJobFacet,
}
DATASET_FACETS: dict[str, type[_Facet]] = {
    "schema": SchemaDatasetFacet,
    "symlinks": SymlinksDatasetFacet,
    "columnLineage": ColumnLineageDatasetFacet,
    "dataSource": DatasourceDatasetFacet,
    "ownership": OwnershipFacet,
    "tags": TagsFacet,
    "lifecycleStateChange": LifecycleStateChangeDatasetFacet,
    "version": DatasetVersionDatasetFacet,
}
INPUT_FACETS: dict[str, type[_Facet]] = {
    "dataQualityMetrics": DataQualityMetricsInputDatasetFacet,
    "inputStatistics": StatisticsFacet,
}
OUTPUT_FACETS: dict[str, type[_Facet]] = {"outputStatistics": StatisticsFacet}


def lenient(info: ValidationInfo, kind: str) -> None:
    """Note that the event being decoded was accepted leniently in this way (``info.context``
    is the set ``lineage.events.decode`` collects them in; None when validating outside it)."""
    if isinstance(info.context, set):
        info.context.add(kind)


def check_facets(facets: Any, known: dict[str, type[_Facet]], info: ValidationInfo) -> dict[str, Any]:
    """A facets mapping, returned as it is; what breaks the spec is noted as leniencies.

    Raises ValueError only when ``facets`` is no mapping at all (null reads as no facets).
    """
    if facets is None:
        lenient(info, "null-field")
        return {}
    if not isinstance(facets, dict):
        raise ValueError(f"facets must be an object, got {type(facets).__name__}")
    if not isinstance(info.context, set):
        return facets  # nobody counts leniencies (``decode_event``): what follows only notes them
    for name, value in facets.items():
        if not isinstance(value, dict):
            lenient(info, "facet-not-an-object")
            continue
        if value.get("_deleted") is True:
            continue
        if "_producer" not in value or "_schemaURL" not in value:
            lenient(info, "facet-without-schema-url")
        elif not isinstance(value["_producer"], str) or not isinstance(value["_schemaURL"], str):
            lenient(info, "malformed-facet")
        model = known.get(name)
        if model is None:
            continue
        try:
            model.model_validate(value, context=info.context)
        except ValidationError:
            lenient(info, "malformed-facet")
    return facets

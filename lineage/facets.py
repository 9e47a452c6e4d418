"""Typed models of the OpenLineage facets that drive the graph (spec 2-0-2, ``spec/facets``).

Facets stay plain data inside an event, so that every facet, known or custom, is written back
exactly as it was sent. The models here only *check* the known facets when an event is decoded
(``check_facets``) and give typed access where the graph needs it.

Knowingly more lenient than the JSON schemas (tests/unit/lineage/test_schema_oracle.py shows
each case on the spec's own examples):
- ``_producer`` and ``_schemaURL`` may be missing: the graph does not need them, and some
  integrations leave them out of facets they build by hand;
- string formats (``uri``, ``date-time`` inside facets) are not checked: a malformed
  ``dataSource.uri`` or ``nominalStartTime`` costs one property, not the whole event;
- ``dataQualityMetrics`` needs columnMetrics *or* rowCount, not columnMetrics alone;
- ``{"_deleted": true}`` is accepted for every facet (the spec allows it on job and dataset
  facets; for a run facet it means nothing and changes nothing).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    TypeAdapter,
    ValidationError,
    model_validator,
)

_UUID = r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"


class _Facet(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    producer: StrictStr | None = Field(default=None, alias="_producer")
    schemaURL: StrictStr | None = Field(default=None, alias="_schemaURL")


class _Part(BaseModel):
    model_config = ConfigDict(extra="allow")


# --- run facets ----------------------------------------------------------------------------


class ParentRun(_Part):
    runId: StrictStr = Field(pattern=_UUID)


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
    """The spec requires columnMetrics; a table-level rowCount alone is accepted too (the
    OpenLineage proxy's own full example sends just that), but a facet with neither is refused."""

    rowCount: StrictInt | None = None
    bytes: StrictInt | None = None
    fileCount: StrictInt | None = None
    columnMetrics: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _has_a_metric(self) -> DataQualityMetricsInputDatasetFacet:
        if self.columnMetrics is None and self.rowCount is None:
            raise ValueError("columnMetrics is required (or at least rowCount)")
        return self


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

_OBJECT = TypeAdapter(dict[str, Any])


class FacetError(ValueError):
    """A facet breaks its schema; ``errors`` are pydantic-style ``{"loc", "msg"}`` entries."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("; ".join(f"{e['loc']}: {e['msg']}" for e in errors))
        self.errors = errors


def check_facets(facets: Any, known: dict[str, type[_Facet]]) -> dict[str, Any]:
    """Check a facets mapping and return it unchanged; raises FacetError naming the facet.

    Every facet must be a JSON object; the known ones must also match their model.
    """
    facets = _OBJECT.validate_python(facets)
    errors: list[dict[str, Any]] = []
    for name, value in facets.items():
        if not isinstance(value, dict):
            errors.append({"loc": name, "msg": f"a facet must be an object, got {type(value).__name__}"})
            continue
        model = known.get(name)
        if model is None or value.get("_deleted") is True:
            continue
        try:
            model.model_validate(value)
        except ValidationError as exc:
            for err in exc.errors():
                where = ".".join(str(p) for p in (name, *err["loc"]))
                errors.append({"loc": where, "msg": err["msg"].removeprefix("Value error, ")})
    if errors:
        raise FacetError(errors)
    return facets


def parse_facet(facets: dict[str, Any], name: str, model: type[_Facet]) -> Any:
    """The facet ``name`` as ``model``, or None when it is absent, deleted or malformed."""
    value = facets.get(name)
    if not isinstance(value, dict) or value.get("_deleted") is True:
        return None
    try:
        return model.model_validate(value)
    except ValidationError:
        return None

"""Every metric a component exports is listed in docs/operations.md, with its type."""

from pathlib import Path

from prometheus_client import CollectorRegistry

from observability import metrics
from observability.lag import LagCollector

DOC = (Path(__file__).resolve().parents[3] / "docs" / "operations.md").read_text()


def exported_names() -> set[tuple[str, str]]:
    names = {(family.name, family.type) for family in LagCollector(list).describe()}
    for component in metrics.COMPONENT.values():
        registry = CollectorRegistry()
        for metric in component:
            registry.register(metric)
        for family in registry.collect():
            # Counters are collected without their _total suffix, info without _info.
            suffix = {"counter": "_total", "info": "_info"}.get(family.type, "")
            names.add((family.name + suffix, family.type))
    return names


def test_every_exported_metric_is_documented_with_its_type() -> None:
    rows = {
        line.split("|")[1].strip().strip("`"): line.split("|")[2].strip()
        for line in DOC.splitlines()
        if line.startswith("| `lineage_")
    }
    missing = {name for name, _ in exported_names() if name not in rows}
    assert not missing, f"not in docs/operations.md: {sorted(missing)}"
    wrong = {name: (kind, rows[name]) for name, kind in exported_names() if rows[name] != kind}
    assert not wrong, wrong


def test_the_docs_list_no_metric_the_code_does_not_export() -> None:
    documented = {line.split("|")[1].strip().strip("`") for line in DOC.splitlines() if line.startswith("| `lineage_")}
    exported = {name for name, _ in exported_names()} | {"lineage_faust_*"}
    assert documented <= exported, sorted(documented - exported)

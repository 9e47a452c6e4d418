"""The alert rules pass promtool: they parse, and each alert fires on the series it is for
(ops/prometheus/lineage-alerts.test.yml). promtool comes with Debian's prometheus package; CI
installs it, so under CI=true a missing promtool fails."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

RULES = Path(__file__).resolve().parents[2] / "ops" / "prometheus"


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("promtool is not installed (Debian: apt-get install prometheus); CI needs it")
        pytest.skip("promtool is not installed (Debian: apt-get install prometheus)")
    return found


@pytest.mark.parametrize(
    "command",
    [
        ["check", "rules", "lineage-alerts.yml"],
        ["test", "rules", "lineage-alerts.test.yml"],
        ["check", "config", "prometheus.yml"],
    ],
    ids=["check-rules", "test-rules", "check-config"],
)
def test_promtool(command: list[str]) -> None:
    result = subprocess.run([promtool(), *command], cwd=RULES, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_test() -> None:
    import yaml

    rules = yaml.safe_load((RULES / "lineage-alerts.yml").read_text())
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r}
    tests = yaml.safe_load((RULES / "lineage-alerts.test.yml").read_text())
    tested = {t["alertname"] for case in tests["tests"] for t in case.get("alert_rule_test", [])}
    assert alerts and alerts <= tested, f"alerts without a promtool test: {sorted(alerts - tested)}"

"""``lineage stack up --kafka-sasl-*``: the options checked before anything starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from lineage_cli.main import main


@pytest.mark.parametrize(
    ("options", "says"),
    [
        (["--kafka-sasl-password", "p"], "--kafka-sasl-password needs --kafka-sasl-user"),
        (["--kafka-sasl-user", "u"], "--kafka-sasl-user needs --kafka-sasl-password (or LINEAGE_KAFKA_SASL_PASSWORD)"),
    ],
)
def test_a_scram_user_needs_a_password(
    options: list[str], says: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("LINEAGE_KAFKA_SASL_PASSWORD", raising=False)
    assert main(["stack", "up", "--data-dir", str(tmp_path), *options]) == 1
    assert capsys.readouterr().err == f"lineage: error: {says}\n"
    assert not (tmp_path / "stack.json").exists()

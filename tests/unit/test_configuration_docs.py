"""docs/configuration.md names every setting, and no setting that does not exist."""

import re
from pathlib import Path

from lineage.settings import ENV_PREFIX, Settings

DOC = (Path(__file__).resolve().parents[2] / "docs" / "configuration.md").read_text()


def test_every_setting_is_documented() -> None:
    missing = [ENV_PREFIX + name.upper() for name in Settings.model_fields if ENV_PREFIX + name.upper() not in DOC]
    assert not missing, f"not in docs/configuration.md: {missing}"


def test_every_documented_setting_exists() -> None:
    named = set(re.findall(r"LINEAGE_[A-Z0-9_]+[A-Z0-9]", DOC))
    real = {ENV_PREFIX + name.upper() for name in Settings.model_fields}
    assert named <= real, sorted(named - real)

"""Static group membership ids: the same across a worker's restarts, different between workers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from lineage.settings import Settings
from lineage_cli import instances
from lineage_cli.instances import processor_instance, sink_instance, with_instances


def test_a_processor_is_its_host_and_home(tmp_path: Path) -> None:
    one, two = Settings(home=tmp_path / "a"), Settings(home=tmp_path / "b")
    assert processor_instance(one) == processor_instance(Settings(home=tmp_path / "a"))  # a restart
    assert processor_instance(one) != processor_instance(two)
    assert processor_instance(Settings(home=tmp_path, processor_instance_id="pod-7")) == "pod-7"
    assert processor_instance(Settings(home=tmp_path, processor_instance_id="none")) is None
    assert (
        with_instances(Settings(home=tmp_path, processor_instance_id="NONE"), processor=True).processor_instance_id
        == "none"
    )


def test_sinks_take_free_slots_and_a_dead_sinks_slot_is_free_again(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    held = len(instances._held)
    try:
        first = sink_instance(settings)
        second = sink_instance(settings)  # another sink while the first runs
        assert first is not None and second is not None
        assert first.endswith("-sink-0") and second.endswith("-sink-1")
    finally:
        for lock in instances._held[held:]:
            lock.close()
        del instances._held[held:]
    # A process that held slot 0 and died (as a killed sink does) leaves it free.
    script = "from lineage.settings import Settings; from lineage_cli.instances import sink_instance; "
    script += f"print(sink_instance(Settings(home={str(tmp_path)!r})))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("-sink-0")
    assert sink_instance(Settings(home=tmp_path, sink_instance_id="none")) is None

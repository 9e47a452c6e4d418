from observability.health import Health


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_component_starts_alive_but_not_ready() -> None:
    health = Health(stuck_after=30, clock=Clock())
    assert health.liveness().ok
    assert not health.readiness().ok
    assert health.readiness().status == "starting"


def test_readiness_follows_what_the_component_says() -> None:
    health = Health(stuck_after=30, clock=Clock())
    health.ready()
    assert health.readiness().ok
    health.not_ready("neo4j-unavailable", "ServiceUnavailable: refused")
    verdict = health.readiness()
    assert (verdict.ok, verdict.status, verdict.detail) == (False, "neo4j-unavailable", "ServiceUnavailable: refused")
    health.ready()
    assert health.readiness().ok


def test_a_component_still_starting_is_not_judged_stuck() -> None:
    clock = Clock()
    health = Health(stuck_after=30, clock=clock)
    clock.now += 600  # reading a large run state back, before its loop beats
    assert health.liveness().ok
    health.ready()
    clock.now += 29
    assert health.liveness().ok
    clock.now += 2
    assert not health.liveness().ok


def test_a_loop_that_stops_turning_makes_the_component_unhealthy_and_unready() -> None:
    clock = Clock()
    health = Health(stuck_after=30, clock=clock)
    health.ready()
    clock.now += 29
    assert health.liveness().ok
    clock.now += 2
    assert not health.liveness().ok
    assert "31 s" in health.liveness().detail
    assert not health.readiness().ok
    health.beat()
    assert health.liveness().ok and health.readiness().ok


def test_a_component_that_declares_itself_stuck_stays_unhealthy() -> None:
    health = Health(stuck_after=30, clock=Clock())
    health.stuck("partition 3 has not moved for 120 s")
    health.beat()
    assert health.liveness().as_dict() == {"status": "stuck", "detail": "partition 3 has not moved for 120 s"}

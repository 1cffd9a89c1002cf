"""Fault settings without a server: validation, the seeded draw, the token bucket, LRO failures
and the request log's filters."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import pytest

from migrate_kit.emulator import FaultSettings, FaultSettingsError
from migrate_kit.emulator.chaos import TokenBucket
from migrate_kit.emulator.faults import Fault, FaultSet, RequestLog

WS = "/subscriptions/s/resourceGroups/r/providers/Microsoft.MachineLearningServices/workspaces/w"


def kinds(faults: FaultSet, n: int, method: str = "GET", path: str = "/discovery") -> list[Any]:
    drawn = (faults.draw(method, path) for _ in range(n))
    return [chaos.kind if chaos else None for chaos in drawn]


# -- validation ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"rate_429": 1.5}, "rate_429"),
        ({"rate_drop": -0.1}, "rate_drop"),
        ({"lro_failure_rate": "half"}, "lro_failure_rate"),
        ({"latency_ms": float("inf")}, "latency_ms"),
        ({"retry_after": True}, "retry_after"),
        ({"seed": 1.5}, "seed"),
        ({"scope_path": "("}, "scope_path"),
        ({"scope_method": 3}, "scope_method"),
        ({"rate_500": 0.6, "rate_503": 0.6}, "rate_503"),  # the four rates share one draw
    ],
)
def test_bad_settings_name_the_field(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(FaultSettingsError) as caught:
        FaultSettings(**fields)

    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")


def test_settings_from_json_merge_and_reject_unknown_keys() -> None:
    base = FaultSettings(seed=3, rate_500=0.2)

    merged = FaultSettings.from_json({"rate_429": 0.1}, base=base)
    replaced = FaultSettings.from_json({"rate_429": 1})

    assert (merged.seed, merged.rate_500, merged.rate_429) == (3, 0.2, 0.1)
    assert replaced == FaultSettings(rate_429=1.0)
    assert replaced.to_json()["rate_429"] == 1.0
    with pytest.raises(FaultSettingsError, match=r"^rate_4290: unknown setting"):
        FaultSettings.from_json({"rate_4290": 1})
    with pytest.raises(FaultSettingsError, match=r"^body: expected a JSON object"):
        FaultSettings.from_json([1])


# -- the seeded draw -----------------------------------------------------------------------------


def test_same_seed_same_faults_other_seed_other_faults() -> None:
    settings = FaultSettings(seed=42, rate_429=0.2, rate_500=0.1, rate_503=0.1, rate_drop=0.1)

    first = kinds(FaultSet(settings), 100)
    again = kinds(FaultSet(settings), 100)
    other = kinds(FaultSet(FaultSettings(**{**settings.to_json(), "seed": 43})), 100)

    assert first == again
    assert first != other
    assert {"429", "500", "503", "drop", None} == set(first)


def test_setting_the_settings_again_restarts_the_sequence() -> None:
    faults = FaultSet(FaultSettings(seed=5, rate_500=0.5))
    first = kinds(faults, 20)

    faults.set_settings(FaultSettings(seed=5, rate_500=0.5))

    assert kinds(faults, 20) == first


def test_rates_over_many_draws() -> None:
    faults = FaultSet(FaultSettings(seed=1, rate_429=0.3, rate_500=0.1, rate_503=0.2))

    counts = Counter(kinds(faults, 5000))

    assert counts["429"] == pytest.approx(1500, abs=150)
    assert counts["500"] == pytest.approx(500, abs=100)
    assert counts["503"] == pytest.approx(1000, abs=120)
    assert counts["drop"] == 0


def test_retry_after_goes_with_429_and_503_only() -> None:
    faults = FaultSet(FaultSettings(rate_429=1, retry_after=4))
    chaos = faults.draw("GET", "/x")
    assert chaos is not None and (chaos.status, chaos.retry_after) == (429, 4.0)

    faults.set_settings(FaultSettings(rate_500=1))
    chaos = faults.draw("GET", "/x")
    assert chaos is not None and (chaos.status, chaos.retry_after) == (500, None)


def test_scope_limits_the_faults_and_the_draws() -> None:
    scoped = FaultSet(FaultSettings(seed=9, rate_500=0.5, scope_method="put|post", scope_path="/e"))
    plain = FaultSet(FaultSettings(seed=9, rate_500=0.5))

    out_of_scope = [scoped.draw("GET", "/e"), scoped.draw("PUT", "/other")]

    assert out_of_scope == [None, None]
    assert kinds(scoped, 30, "PUT", "/e/1") == kinds(plain, 30)  # no draw was used up


def test_latency_alone_lets_the_request_through() -> None:
    chaos = FaultSet(FaultSettings(latency_ms=250)).draw("GET", "/x")

    assert chaos is not None
    assert (chaos.kind, chaos.delay, chaos.status) == (None, 0.25, None)


def test_defaults_do_nothing() -> None:
    faults = FaultSet()

    assert not faults.settings.active
    assert faults.draw("PUT", WS) is None
    assert faults.lro_failure(WS + "/batchEndpoints/e") is None


# -- the ARM write throttle ------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket_burst_then_wait() -> None:
    clock = Clock()
    bucket = TokenBucket(2, clock=clock)

    burst = [bucket.take(), bucket.take()]
    empty = bucket.take()
    clock.now += 0.25
    still = bucket.take()
    clock.now += 0.25
    refilled = bucket.take()

    assert burst == [0.0, 0.0]
    assert empty == pytest.approx(0.5)
    assert still == pytest.approx(0.25)
    assert refilled == 0.0


def test_slow_bucket_still_allows_one_write() -> None:
    clock = Clock()
    bucket = TokenBucket(0.25, clock=clock)

    assert bucket.take() == 0.0
    assert bucket.take() == pytest.approx(4.0)


def test_throttle_counts_only_arm_writes() -> None:
    faults = FaultSet(FaultSettings(arm_write_rate=1))

    reads = [faults.draw("GET", WS) for _ in range(5)]
    others = [faults.draw("POST", "/pipelines/v1.0" + WS + "/PipelineRuns") for _ in range(5)]
    first, second = faults.draw("PUT", WS + "/codes/c"), faults.draw("DELETE", WS + "/codes/c")

    assert reads == others == [None] * 5
    assert first is None
    assert second is not None and second.kind == "throttle"
    assert (second.status, second.retry_after) == (429, 1.0)


# -- long-running operations ---------------------------------------------------------------------


def test_lro_failure_rate_is_seeded_and_scoped() -> None:
    settings = FaultSettings(seed=2, lro_failure_rate=0.5, scope_path="batchEndpoints")
    path = WS + "/batchEndpoints/ep1"

    faults = FaultSet(settings)
    outcomes = [faults.lro_failure(path) for _ in range(200)]
    again = FaultSet(settings)

    assert [again.lro_failure(path) for _ in range(200)] == outcomes
    assert 70 <= sum(o is not None for o in outcomes) <= 130
    code, message = next(o for o in outcomes if o is not None)
    assert code == "InternalServerError" and "ep1" in message
    assert faults.lro_failure(WS + "/codes/c/versions/1") is None


def test_lro_failures_do_not_shift_the_request_faults() -> None:
    settings = FaultSettings(seed=4, rate_500=0.5, lro_failure_rate=1)
    plain = FaultSet(settings)
    mixed = FaultSet(settings)

    expected = kinds(plain, 10)
    observed = []
    for _ in range(10):
        assert mixed.lro_failure(WS + "/batchEndpoints/e") is not None
        observed += kinds(mixed, 1)

    assert observed == expected


# -- rules take precedence -----------------------------------------------------------------------


def test_rules_are_independent_of_the_settings() -> None:
    faults = FaultSet(FaultSettings(rate_500=1))
    faults.add(Fault("GET", "/x", status=404))

    assert faults.take("GET", "/x") is not None
    faults.clear()
    assert faults.take("GET", "/x") is None
    assert faults.settings.rate_500 == 1.0  # clearing rules keeps the settings


# -- the request log -----------------------------------------------------------------------------


def test_request_log_seq_and_filters() -> None:
    log = RequestLog()
    for method, path in [("GET", "/a"), ("PUT", "/a"), ("POST", "/b"), ("DELETE", "/a")]:
        log.record({"method": method, "path": path, "headers": []}, 200, time.perf_counter(), None)
    mark = log.last_seq
    log.clear()
    scope = {"method": "PUT", "path": "/c", "headers": []}
    log.record(scope, 201, time.perf_counter(), None, chaos="429")

    assert log.last_seq == mark + 1
    (entry,) = log.entries(since=mark)
    assert entry["seq"] == mark + 1
    assert entry["chaos"] == "429"
    assert entry["time"].endswith("Z")
    assert log.entries(method=["put", "POST"], path="^/c$") == [entry]
    assert log.entries(method="GET") == []

"""Fault settings and admin routes over real HTTPS, on a private emulator (the tests change its
settings, so the session emulator stays undisturbed)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from migrate_kit.emulator import DEFAULT_SAMPLE, Emulator, FaultSettings
from migrate_kit.emulator.faults import FaultSet, RequestLog
from migrate_kit.emulator.server import EmulatorApp

AUTH = {"Authorization": "Bearer test-token"}
#: The private emulator's own settings, which a reset returns to (aimed at nothing real).
INITIAL = FaultSettings(seed=11, rate_500=0.5, scope_path="^/no-such-path$")
WRITES = "PUT,POST,PATCH,DELETE"


@pytest.fixture(scope="module")
def private(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    state = tmp_path_factory.mktemp("faults-emulator")
    with Emulator(state_dir=state, sample=DEFAULT_SAMPLE, settings=INITIAL, job_workers=3) as emu:
        yield emu


@pytest.fixture
def emu(private: Emulator) -> Iterator[Emulator]:
    private.set_fault_settings()
    private.clear_faults()
    private.clear_request_log()
    yield private
    private.set_fault_settings()
    private.clear_faults()


@pytest.fixture
def http(private: Emulator) -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.trust_env = False
        session.verify = private.connection["ca_bundle"]
        yield session


def admin(emu: Emulator, route: str) -> str:
    return f"{emu.base_url}/_emulator/{route}"


def ws_url(emu: Emulator, suffix: str = "") -> str:
    return f"{emu.base_url}{emu.ctx.config.arm_id}{suffix}?api-version=2024-10-01-preview"


def statuses(http: requests.Session, url: str, n: int) -> list[int | str]:
    out: list[int | str] = []
    for _ in range(n):
        try:
            out.append(http.get(url, timeout=10).status_code)
        except requests.exceptions.ConnectionError:
            out.append("drop")
    return out


# -- seeded rates --------------------------------------------------------------------------------


def test_same_seed_same_statuses_other_seed_others(emu: Emulator, http: requests.Session) -> None:
    chaos = {"rate_429": 0.2, "rate_500": 0.1, "rate_503": 0.1, "scope_path": "^/discovery$"}
    url = f"{emu.base_url}/discovery"

    http.put(admin(emu, "settings"), json={"seed": 7, **chaos}).raise_for_status()
    first = statuses(http, url, 40)
    http.put(admin(emu, "settings"), json={"seed": 7, **chaos}).raise_for_status()
    again = statuses(http, url, 40)
    http.put(admin(emu, "settings"), json={"seed": 8, **chaos}).raise_for_status()
    other = statuses(http, url, 40)

    assert first == again
    assert first != other
    assert {200, 429, 500, 503} <= set(first)


def test_measured_rates_and_their_answers(emu: Emulator, http: requests.Session) -> None:
    emu.set_fault_settings(seed=3, rate_429=0.25, rate_500=0.1, rate_503=0.15, retry_after=2,
                           scope_path="/workspaces/")  # fmt: skip
    answers = [http.get(ws_url(emu), headers=AUTH) for _ in range(200)]

    counts = Counter(a.status_code for a in answers)
    assert counts[429] == pytest.approx(50, abs=15)
    assert counts[500] == pytest.approx(20, abs=10)
    assert counts[503] == pytest.approx(30, abs=12)
    assert counts[200] == 200 - counts[429] - counts[500] - counts[503]
    by_status = {a.status_code: a for a in answers}
    assert by_status[429].headers["Retry-After"] == "2"
    assert by_status[429].json()["error"]["code"] == "TooManyRequests"
    assert by_status[503].headers["Retry-After"] == "2"
    assert by_status[503].json()["error"]["code"] == "ServiceUnavailable"
    assert "Retry-After" not in by_status[500].headers
    assert by_status[500].json()["error"]["code"] == "InternalServerError"
    logged = Counter(e["chaos"] for e in emu.request_log())
    assert logged["429"] == counts[429] and logged[None] == counts[200]


def test_the_settings_spare_the_local_stand_ins_but_rules_do_not(
    emu: Emulator, http: requests.Session
) -> None:
    emu.set_fault_settings(rate_503=1)
    metadata = f"{emu.base_url}/metadata/endpoints?api-version=2019-05-01"

    assert http.get(f"{emu.base_url}/discovery").status_code == 503
    assert http.get(metadata).status_code == 200  # the SDK's cloud list, local against Azure
    emu.inject_fault(method="GET", path="^/metadata/endpoints$", status=500)
    assert http.get(metadata).status_code == 500
    emu.set_fault_settings()


def test_dropped_connection_is_a_connection_error(emu: Emulator, http: requests.Session) -> None:
    emu.set_fault_settings(rate_drop=1, scope_path="^/discovery$")

    with pytest.raises(requests.exceptions.ConnectionError):
        http.get(f"{emu.base_url}/discovery", timeout=10)
    working = http.get(ws_url(emu), headers=AUTH)  # out of scope, on a new connection

    assert working.status_code == 200
    dropped = emu.request_log(path="^/discovery$")
    assert [(e["status"], e["chaos"]) for e in dropped] == [(None, "drop")]


def test_latency_is_added(emu: Emulator, http: requests.Session) -> None:
    emu.set_fault_settings(latency_ms=300)

    started = time.perf_counter()
    answer = http.get(f"{emu.base_url}/discovery")
    elapsed = time.perf_counter() - started

    assert answer.status_code == 200
    assert elapsed >= 0.3


def test_admin_routes_never_get_faults(emu: Emulator, http: requests.Session) -> None:
    emu.set_fault_settings(rate_500=1, latency_ms=2000)

    started = time.perf_counter()
    health = http.get(admin(emu, "health"))

    assert health.status_code == 200
    assert time.perf_counter() - started < 2
    assert health.json()["job_workers"] == 3


# -- the ARM write throttle ----------------------------------------------------------------------


def test_arm_write_token_bucket(emu: Emulator, http: requests.Session) -> None:
    emu.set_fault_settings(arm_write_rate=2)
    # A subscription the emulator does not know: allowed writes get ARM's 404, never 429.
    url = f"{emu.base_url}/subscriptions/00000000-throttle/resourceGroups/rg?api-version=2021-04-01"

    burst = [http.put(url, json={}, headers=AUTH) for _ in range(3)]
    reads = [http.get(url, headers=AUTH).status_code for _ in range(3)]
    wait = float(burst[2].headers["Retry-After"])
    time.sleep(wait)
    later = http.put(url, json={}, headers=AUTH)

    assert [b.status_code for b in burst] == [404, 404, 429]
    assert wait == 1
    assert burst[2].json()["error"]["code"] == "TooManyRequests"
    assert "00000000-throttle" in burst[2].json()["error"]["message"]
    assert reads == [404, 404, 404]
    assert later.status_code == 404


# -- long-running operations ---------------------------------------------------------------------


def test_lro_failure_through_the_running_fault_set(emu: Emulator, http: requests.Session) -> None:
    path = emu.ctx.config.arm_id + "/batchEndpoints/ep-fail"
    http.put(admin(emu, "settings"), json={"seed": 5, "lro_failure_rate": 0.5}).raise_for_status()
    faults = emu.ctx.faults
    assert faults is not None

    first = [faults.lro_failure(path) for _ in range(40)]
    http.patch(admin(emu, "settings"), json={"seed": 5}).raise_for_status()  # restarts the draws
    again = [faults.lro_failure(path) for _ in range(40)]
    emu.set_fault_settings(lro_failure_rate=1)
    always = faults.lro_failure(path)

    assert first == again
    assert 8 <= sum(f is not None for f in first) <= 32
    assert always is not None and always[0] == "InternalServerError"
    assert "ep-fail" in always[1]


# -- the unmodified MLClient retries ------------------------------------------------------------


def test_mlclient_retries_an_injected_429(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    from azure.ai.ml import MLClient
    from azure.identity import DefaultAzureCredential

    for name in ("AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_USERNAME"):
        monkeypatch.delenv(name, raising=False)
    for name, value in emu.connection["env"].items():
        monkeypatch.setenv(name, value)
    cfg = emu.ctx.config
    # Seed 1 draws 0.13 then 0.85: the first workspace GET gets 429, the retry goes through.
    emu.set_fault_settings(seed=1, rate_429=0.5, retry_after=1, scope_method="GET",
                           scope_path=f"/workspaces/{cfg.workspace_name}$")  # fmt: skip

    ml = MLClient(DefaultAzureCredential(), cfg.subscription_id, cfg.resource_group,
                  cfg.workspace_name, enable_telemetry=False)  # fmt: skip
    started = time.perf_counter()
    workspace = ml.workspaces.get(cfg.workspace_name)
    elapsed = time.perf_counter() - started

    assert workspace.name == cfg.workspace_name
    calls = emu.request_log(path=f"/workspaces/{cfg.workspace_name}$")
    assert [c["status"] for c in calls] == [429, 200]
    assert elapsed >= 1  # the SDK waited as Retry-After asked


# -- admin routes --------------------------------------------------------------------------------


def test_settings_route(emu: Emulator, http: requests.Session) -> None:
    put = http.put(admin(emu, "settings"), json={"seed": 4, "rate_503": 0.5})
    patched = http.patch(admin(emu, "settings"), json={"latency_ms": 5})
    got = http.get(admin(emu, "settings")).json()
    bad_rate = http.put(admin(emu, "settings"), json={"rate_429": 2})
    unknown = http.patch(admin(emu, "settings"), json={"rate_4299": 0.1})
    not_json = http.put(admin(emu, "settings"), data=b"{nope")
    unchanged = emu.fault_settings
    deleted = http.delete(admin(emu, "settings")).json()

    assert put.status_code == 200 and put.json()["rate_503"] == 0.5
    assert patched.json()["seed"] == 4 and patched.json()["latency_ms"] == 5
    assert got == patched.json()
    assert bad_rate.status_code == 400
    assert bad_rate.json()["error"]["message"].startswith("rate_429: ")
    assert unknown.status_code == 400 and "rate_4299" in unknown.json()["error"]["message"]
    assert not_json.status_code == 400
    assert unchanged == FaultSettings(seed=4, rate_503=0.5, latency_ms=5)
    assert deleted == FaultSettings().to_json()


def test_admin_routes_refuse_other_addresses(emu: Emulator) -> None:
    app = EmulatorApp(emu.ctx, identity_secret="x", faults=FaultSet(), log=RequestLog(),
                      reset=lambda: None)  # fmt: skip

    remote = asyncio.run(_call(app, "/_emulator/settings", client=("10.1.2.3", 50000)))
    local = asyncio.run(_call(app, "/_emulator/settings", client=("127.0.0.1", 50000)))

    assert remote[0] == 403
    assert b'"code":"Forbidden"' in remote[1] and b"10.1.2.3" in remote[1]
    assert local[0] == 200


async def _call(app: EmulatorApp, path: str, client: tuple[str, int]) -> tuple[int, bytes]:
    scope: dict[str, Any] = {
        "type": "http", "http_version": "1.1", "method": "GET", "scheme": "https",
        "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "headers": [(b"host", b"127.0.0.1")], "client": client, "server": ("127.0.0.1", 443),
    }  # fmt: skip
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return sent[0]["status"], body


def test_request_log_counts_writes_between_two_points(
    emu: Emulator, http: requests.Session
) -> None:
    url = f"{emu.base_url}/subscriptions/00000000-count/resourceGroups/rg?api-version=2021-04-01"
    http.put(url, json={}, headers=AUTH)
    mark = http.get(admin(emu, "health")).json()["last_seq"]

    for method in ("PUT", "GET", "PATCH", "GET", "DELETE", "POST"):
        http.request(method, url, json={}, headers=AUTH)
    writes = http.get(admin(emu, "requests"), params={"since": mark, "method": WRITES})
    everything = http.get(admin(emu, "requests"), params={"since": mark}).json()
    bad = http.get(admin(emu, "requests"), params={"since": "yesterday"})

    assert [e["method"] for e in writes.json()] == ["PUT", "PATCH", "DELETE", "POST"]
    assert int(writes.headers["X-Emulator-Last-Seq"]) == mark + 6
    assert [e["seq"] for e in everything] == list(range(mark + 1, mark + 7))  # no admin calls
    entry = everything[0]
    assert {"method", "path", "status", "time", "duration_ms"} <= set(entry)
    assert entry["status"] == 404 and entry["time"].endswith("Z")
    assert bad.status_code == 400


def test_reset_restores_sample_settings_and_clears_rules_and_log(
    emu: Emulator, http: requests.Session
) -> None:
    store = emu.ctx.store
    seeded = store.count()
    store.put("pipelines.pipeline", "extra", {"Id": "extra"})
    emu.inject_fault("GET", "/discovery", status=500, count=None)
    http.put(admin(emu, "settings"), json={"rate_429": 1}).raise_for_status()
    http.get(f"{emu.base_url}/discovery")

    done = http.post(admin(emu, "reset"))

    assert done.json() == {"status": "reset", "entities": seeded}
    assert store.get("pipelines.pipeline", "extra") is None
    assert http.get(admin(emu, "faults")).json() == []
    assert http.get(admin(emu, "settings")).json() == INITIAL.to_json()
    assert http.get(admin(emu, "requests")).json() == []
    assert http.get(f"{emu.base_url}/discovery").status_code == 200

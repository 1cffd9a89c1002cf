"""The fast read path: entity views in the store, ``ServedJson``, and ``JsonGetRoute`` routes.

Every answer of the fast path must be byte for byte what ``JSONResponse`` renders from the
backend's dict-returning method, however the entity was written (before or after its view was
registered, under another view version, in an old state file).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import requests
from starlette.responses import JSONResponse

from migrate_kit.emulator import Emulator
from migrate_kit.emulator.pipelines import wire
from migrate_kit.emulator.pipelines.backend import backend_for
from migrate_kit.emulator.served import ServedJson
from migrate_kit.emulator.state import Store

GRAPH = "pipelines.graph"


def _graph(status: Any = 0, value_type: Any = "Literal") -> dict[str, Any]:
    """A graph that needs the wire transform unless given served forms."""
    parameter = {"Name": "p", "Value": "1", "ValueType": value_type}
    concat = {"ValueType": value_type, "AssignmentsToConcatenate": [dict(parameter)]}
    return {
        "Id": "g1",
        "ModuleNodes": [{"Id": "n1", "ModuleParameters": [parameter, concat], "Comment": "é"}],
        "EntityStatus": status,
    }


def _expected(body: dict[str, Any]) -> bytes:
    return bytes(JSONResponse(wire.serve_graph(body)).body)


def test_old_state_files_are_reencoded_and_get_view_columns(tmp_path: Path) -> None:
    path = tmp_path / "emulator.sqlite"
    with sqlite3.connect(path) as old:
        old.execute("CREATE TABLE entities (kind TEXT, key TEXT, body TEXT, UNIQUE (kind, key))")
        old.execute("INSERT INTO entities VALUES (?, ?, ?)", (GRAPH, "g1", json.dumps(_graph())))

    store = Store(path)
    compact = json.dumps(_graph(), ensure_ascii=False, separators=(",", ":"))
    assert store.get_json(GRAPH, "g1") == compact.encode()
    assert store.get_served(GRAPH, "g1") == (store.get_json(GRAPH, "g1"), None)
    store.close()


def test_served_json_matches_json_response_on_every_path(tmp_path: Path) -> None:
    store = Store(tmp_path / "emulator.sqlite")
    store.put(GRAPH, "g1", _graph())  # written before the view exists: rendered on read
    served = ServedJson(store, {GRAPH: wire.serve_graph})

    assert served.get(GRAPH, "g1") == _expected(_graph())
    assert served.get(GRAPH, "g1") == _expected(_graph())  # from the cache
    store.put(GRAPH, "g1", _graph(status=2))  # written with the view
    assert store.get_served(GRAPH, "g1") == (store.get_json(GRAPH, "g1"), _expected(_graph(2)))
    assert served.get(GRAPH, "g1") == _expected(_graph(status=2))

    already_served = wire.serve_graph(_graph(status="Active", value_type="0"))
    store.put(GRAPH, "g2", already_served)
    assert store.get_served(GRAPH, "g2") == (_expected(already_served),) * 2
    assert served.get("pipelines.graph", "missing") is None
    store.close()


def test_a_write_without_the_view_is_never_served_stale(tmp_path: Path) -> None:
    path = tmp_path / "emulator.sqlite"
    store = Store(path)
    served = ServedJson(store, {GRAPH: wire.serve_graph})
    store.put(GRAPH, "g1", _graph(status=0))

    other = Store(path)  # another process or version: no view registered
    other.put(GRAPH, "g1", _graph(status=1))
    other.close()

    assert store.get_served(GRAPH, "g1") == (store.get_json(GRAPH, "g1"), None)
    assert served.get(GRAPH, "g1") == _expected(_graph(status=1))
    store.close()


def test_non_finite_numbers_still_fail_to_render(tmp_path: Path) -> None:
    store = Store(tmp_path / "emulator.sqlite")
    served = ServedJson(store, {GRAPH: wire.serve_graph})
    store.put(GRAPH, "g1", {**_graph(status="Active", value_type="0"), "Weight": float("nan")})

    try:
        served.get(GRAPH, "g1")
    except ValueError:
        pass
    else:
        raise AssertionError("a NaN body must not be served (JSONResponse refuses it)")
    store.close()


def test_serve_graph_shares_what_it_does_not_change() -> None:
    stored = wire.serve_graph(_graph())
    assert wire.serve_graph(stored) == stored
    assert wire.serve_graph(stored)["ModuleNodes"] is stored["ModuleNodes"]
    assert wire.serve_graph({"ModuleNodes": None})["ModuleNodes"] == []
    node = wire.serve_graph(_graph())["ModuleNodes"][0]
    assert node["ModuleParameters"][1]["AssignmentsToConcatenate"][0]["ValueType"] == "0"


def _url(emu: Emulator, path: str) -> str:
    return f"{emu.base_url}/pipelines/v1.0/{emu.ctx.config.scope}{path}"


def test_fast_routes_answer_like_the_route_table(emu: Emulator, http: requests.Session) -> None:
    backend = backend_for(emu.ctx)
    graph_id = emu.ctx.store.keys(GRAPH)[0]
    module_id = emu.ctx.store.keys("pipelines.module")[0]
    auth = {"Authorization": "Bearer t"}
    cases = {
        f"/Graphs/{graph_id}": backend.get_graph(graph_id),
        f"/Graphs/{graph_id}/Interface": backend.get_graph_interface(graph_id),
        f"/Modules/{module_id}": backend.get_module(module_id),
    }
    for path, body in cases.items():
        response = http.get(_url(emu, path), headers=auth, timeout=10)
        assert response.status_code == 200
        assert response.content == JSONResponse(body).body
        assert response.headers["content-type"] == "application/json"
        assert int(response.headers["content-length"]) == len(response.content)

    head = http.head(_url(emu, f"/Graphs/{graph_id}"), headers=auth, timeout=10)
    assert (head.status_code, head.content) == (200, b"")
    logged = [(e["method"], e["status"]) for e in emu.request_log()]
    assert logged == [("GET", 200)] * 3 + [("HEAD", 200)]


def test_fast_routes_keep_auth_faults_and_errors(emu: Emulator, http: requests.Session) -> None:
    graph_id = emu.ctx.store.keys(GRAPH)[0]
    url = _url(emu, f"/Graphs/{graph_id}")
    auth = {"Authorization": "Bearer t"}

    assert http.get(url, timeout=10).status_code == 401
    emu.inject_fault("GET", r"/Graphs/", status=503, retry_after=2)
    faulted = http.get(url, headers=auth, timeout=10)
    assert (faulted.status_code, faulted.headers["Retry-After"]) == (503, "2")

    missing = http.get(_url(emu, "/Modules/no-such-module"), headers=auth, timeout=10)
    assert missing.status_code == 404
    assert missing.json()["error"]["innerError"]["code"] == "NotFoundError"
    other = url.replace(emu.ctx.config.workspace_name, "another-workspace")
    wrong = http.get(other, headers=auth, timeout=10)
    assert wrong.status_code == 404
    assert wrong.json()["location"] == emu.ctx.config.region

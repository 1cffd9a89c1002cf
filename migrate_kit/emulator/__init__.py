"""A local HTTPS emulator of the Azure ML services that migrate_kit and the SDKs talk to.

Public API::

    with Emulator(state_dir=tmp, sample=DEFAULT_SAMPLE, port=0, connection_file=None,
                  settings=FaultSettings(seed=1, rate_429=0.1), job_workers=2) as emu:
        emu.base_url, emu.connection, emu.ctx
        emu.inject_fault(method="GET", path=r"/Pipelines$", status=503, count=1)
        emu.set_fault_settings(latency_ms=50, arm_write_rate=5)
        emu.request_log(since=seq, method="PUT"); emu.clear_faults(); emu.reset()

    serve(sample=..., state_dir=..., port=..., connection_file=..., settings=...)  # until SIGTERM

See ``lifecycle.py`` for the connection file and its environment map, ``server.py`` for the
request pipeline, ``faults.py`` for the fault model (rules and seeded settings), ``admin.py``
for the ``/_emulator/*`` routes, ``state.py`` / ``seed.py`` for the store and seeding, and
``coverage.py`` for what is not emulated. The product never imports this package to do its work.
"""

from __future__ import annotations

from migrate_kit.emulator.chaos import FaultSettings, FaultSettingsError
from migrate_kit.emulator.config import Context, EmulatorConfig
from migrate_kit.emulator.errors import ServiceError
from migrate_kit.emulator.faults import Fault
from migrate_kit.emulator.lifecycle import DEFAULT_SAMPLE, Emulator, serve
from migrate_kit.emulator.state import Store

__all__ = [
    "DEFAULT_SAMPLE",
    "Context",
    "Emulator",
    "EmulatorConfig",
    "Fault",
    "FaultSettings",
    "FaultSettingsError",
    "ServiceError",
    "Store",
    "serve",
]

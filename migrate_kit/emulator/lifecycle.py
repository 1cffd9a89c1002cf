"""Starting and stopping the emulator: in-process (``Emulator``) or in the foreground (``serve``).

The emulator listens on ``127.0.0.1`` only, over HTTPS with the state folder's own CA, and keeps
its state in ``<state_dir>/emulator.sqlite``. A fresh state folder is seeded from the sample; a
folder that already holds state is reused as it is, with the workspace settings it was seeded
with. When ready, it writes the *connection file*: workspace ids, URLs, the CA bundle and
``env``, the environment variables that point the unmodified clients at the emulator.

The ``env`` map (verified with azure-ai-ml 1.35 and azureml-core 1.61 in clean subprocesses):

- ``REQUESTS_CA_BUNDLE``: requests / azure-core / msrest trust the emulator's CA;
- ``SSL_CERT_FILE``: urllib (the v1 SDK's cloud-metadata fetch at import) trusts it too;
- ``ARM_CLOUD_METADATA_URL``: azure-ai-ml and the v1 SDK read the emulator's cloud list;
- ``AZUREML_CURRENT_CLOUD``: names that cloud, so neither SDK falls back to the public cloud
  (a value already in the environment, e.g. ``AzureCloud``, would win otherwise);
- ``AZURE_CONFIG_DIR``: a folder in the state folder, because the v1 SDK caches the cloud list
  in ``$AZURE_CONFIG_DIR/cloudEndpoints.json`` and would otherwise keep an old port forever;
- ``IDENTITY_ENDPOINT`` / ``IDENTITY_HEADER``: ``DefaultAzureCredential`` gets tokens from the
  emulator through the App Service managed-identity protocol. This only works when no
  ``AZURE_CLIENT_SECRET`` / ``AZURE_CLIENT_CERTIFICATE_PATH`` / ``AZURE_USERNAME`` is set, because
  ``EnvironmentCredential`` comes first in the chain;
- ``MSI_ENDPOINT``: the v1 SDK's built-in ``MsiAuthentication()`` (through msrestazure) POSTs
  ``resource=...`` there with ``Metadata: true`` and gets the same tokens;
- ``MSI_SECRET``: with ``MSI_ENDPOINT``, azure-identity's fallback protocol (used when
  ``IDENTITY_ENDPOINT`` is absent) works too.

``SSL_CERT_FILE`` alone is not enough for azure-ai-ml (requests uses certifi, not OpenSSL's
default paths); ``REQUESTS_CA_BUNDLE`` alone is not enough for the v1 SDK (``import
azureml.core`` fails on the metadata fetch). Without ``AZUREML_CURRENT_CLOUD`` the v1 SDK's
auth classes first fetch the hard-coded ``management.azure.com`` metadata (a failed DNS lookup
offline) and then fall back to the emulator's list, where the cloud is also named
``AzureCloud``; that name also serves code that passes ``cloud="AzureCloud"``.

The v1 SDK therefore needs no auth object of ours: ``Workspace(sub, rg, ws,
auth=MsiAuthentication())`` works with this environment (a custom ``AbstractAuthentication``
works too). Publishing from the v1 SDK additionally needs ``*.blob.localhost`` to resolve to
127.0.0.1 in that process (snapshot uploads); no environment variable arranges that.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import signal
import socket
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import replace
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

import uvicorn

import migrate_kit
from migrate_kit.emulator.arm.backend import CLOUD_NAME
from migrate_kit.emulator.chaos import FaultSettings
from migrate_kit.emulator.config import Context, EmulatorConfig, load_config
from migrate_kit.emulator.faults import Fault, FaultSet, RequestLog
from migrate_kit.emulator.runner.backend import existing_runner
from migrate_kit.emulator.seed import is_seeded, saved_config, seed
from migrate_kit.emulator.server import EmulatorApp
from migrate_kit.emulator.state import Store
from migrate_kit.emulator.tls import TlsFiles, ensure_certificates

__all__ = ["DEFAULT_SAMPLE", "Emulator", "serve"]

logger = logging.getLogger(__name__)

#: The repository's sample workspace folder.
DEFAULT_SAMPLE = Path(migrate_kit.__file__).resolve().parents[1] / "data"

_START_TIMEOUT_S = 30.0


class Emulator:
    """The emulator running in a background thread; use it as a context manager.

    ``sample`` is the folder to seed a fresh state folder from (``None`` = an empty workspace);
    ``port=0`` picks a free port. ``config`` overrides the workspace settings (otherwise those
    of the sample for a fresh state folder, or those saved in a reused one). ``settings`` are
    the fault settings to start with (and to return to on ``reset``); ``job_workers`` is how
    many job steps run at once (``Context.job_workers``).
    """

    def __init__(
        self,
        *,
        state_dir: Path | str,
        sample: Path | str | None = DEFAULT_SAMPLE,
        port: int = 0,
        connection_file: Path | str | None = None,
        config: EmulatorConfig | None = None,
        settings: FaultSettings | None = None,
        job_workers: int = 2,
    ) -> None:
        if isinstance(job_workers, bool) or not isinstance(job_workers, int) or job_workers < 1:
            raise ValueError(f"job_workers must be an integer >= 1, got {job_workers!r}")
        self.state_dir = Path(state_dir).resolve()
        self.sample = _sample_folder(sample)
        self.port = port
        self.connection_file = Path(connection_file).resolve() if connection_file else None
        self._config = config
        self.job_workers = job_workers
        self._initial_settings = settings or FaultSettings()
        self.faults = FaultSet(self._initial_settings)
        self.log = RequestLog()
        self.connection: dict[str, Any] = {}
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None
        self._store: Store | None = None
        self._ctx: Context | None = None

    # -- public API --------------------------------------------------------------------------

    @property
    def ctx(self) -> Context:
        """The running emulator's context (backends, store); only valid between start and stop."""
        if self._ctx is None:
            raise RuntimeError(
                "The emulator is not running; call start() or use 'with Emulator(...)'"
            )
        return self._ctx

    @property
    def base_url(self) -> str:
        return self.ctx.base_url

    def inject_fault(
        self,
        method: str = "*",
        path: str = ".*",
        status: int | None = 503,
        count: int | None = 1,
        retry_after: float | None = None,
        body: Any = None,
        malformed: bool = False,
        delay: float = 0.0,
        drop: bool = False,
    ) -> Fault:
        """Make matching requests fail (see ``faults.py`` for what each argument does)."""
        fault = Fault(method, path, status, count, retry_after, body, malformed, delay, drop)
        return self.faults.add(fault)

    def clear_faults(self) -> None:
        """Remove every fault rule (the fault settings stay)."""
        self.faults.clear()

    @property
    def fault_settings(self) -> FaultSettings:
        """The fault settings in force."""
        return self.faults.settings

    def set_fault_settings(
        self, settings: FaultSettings | None = None, /, **fields: Any
    ) -> FaultSettings:
        """Replace the fault settings with ``settings`` (default: the defaults, no faults) and
        ``fields`` applied on top; restarts the seeded sequence. Returns what is now in force.

        ``emu.set_fault_settings(rate_429=0.2, seed=7)`` or
        ``emu.set_fault_settings(FaultSettings(latency_ms=50))``; invalid values raise
        ``FaultSettingsError`` naming the field.
        """
        new = replace(settings or FaultSettings(), **fields)
        self.faults.set_settings(new)
        return new

    def request_log(
        self,
        *,
        since: int | None = None,
        method: str | Collection[str] | None = None,
        path: str | None = None,
    ) -> list[dict[str, Any]]:
        """Requests served so far (secrets removed), oldest first; admin routes are left out.

        ``since``: only entries with a larger ``seq`` (take ``self.log.last_seq`` before the
        part to count); ``method``: one method or several; ``path``: a regular expression.
        """
        return self.log.entries(since=since, method=method, path=path)

    def clear_request_log(self) -> None:
        self.log.clear()

    def reset(self) -> None:
        """Back to the sample: every entity and blob replaced by a fresh seed (in one
        transaction, so other threads never see a half-seeded store), fault rules and the
        request log cleared, and the fault settings back to those given at construction (their
        seeded sequence restarted)."""
        store = self.ctx.store
        with store.transaction():
            store.clear()
            seed(store, self.sample, self.ctx.config)
        self.faults.clear()
        self.faults.set_settings(self._initial_settings)
        self.log.clear()

    # -- start and stop ----------------------------------------------------------------------

    def start(self) -> Emulator:
        """Prepare state, TLS and the socket, then serve in a background thread until ready."""
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop serving, close the store and remove the connection file. Safe to call twice."""
        if self._server is not None and self._thread is not None:
            # uvicorn then waits for open connections to close; TLS keep-alive connections of
            # clients that went away can linger, so after a short grace period it stops waiting.
            self._server.should_exit = True
            self._thread.join(timeout=0.5)
            self._server.force_exit = True
            self._thread.join(timeout=10)
        if self._sock is not None:
            self._sock.close()
        if self._ctx is not None and (runner := existing_runner(self._ctx)) is not None:
            runner.close()  # kills the jobs' processes before their store closes
        if self._store is not None:
            self._store.close()
        if self.connection_file is not None and self.connection_file.exists():
            self.connection_file.unlink()
        self._server, self._thread, self._sock, self._store, self._ctx = (None,) * 5

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- steps -------------------------------------------------------------------------------

    def _start(self) -> None:
        tls, ctx, secret = self._prepare_state()
        self._sock = _bind(self.port)
        ctx.set_port(self._sock.getsockname()[1])

        app = EmulatorApp(
            ctx, identity_secret=secret, faults=self.faults, log=self.log, reset=self.reset
        )
        config = uvicorn.Config(
            app,
            ssl_certfile=str(tls.server_cert),
            ssl_keyfile=str(tls.server_key),
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
            # Clients talk to 127.0.0.1 directly; X-Forwarded-* headers must not rewrite scopes
            # (and the middleware would cost time on every request).
            proxy_headers=False,
            timeout_graceful_shutdown=3,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, name="emulator", daemon=True
        )
        self._thread.start()
        self._wait_started()

        self.connection = _connection(ctx, tls.ca_cert, secret, self.state_dir)
        if self.connection_file is not None:
            self.connection_file.parent.mkdir(parents=True, exist_ok=True)
            self.connection_file.write_text(json.dumps(self.connection, indent=2) + "\n")
        logger.info("Emulator ready at %s (state %s)", ctx.base_url, self.state_dir)

    def _prepare_state(self) -> tuple[TlsFiles, Context, str]:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        config = self._config or load_config(self.sample)
        tls = ensure_certificates(self.state_dir / "tls", storage_account=config.storage_account)
        self._store = store = Store(self.state_dir / "emulator.sqlite")

        if is_seeded(store):
            config = self._config or saved_config(store) or config
            logger.info("Reusing state in %s (%d entities)", self.state_dir, store.count())
        else:
            seed(store, self.sample, config)

        self._ctx = Context(config, store)
        self._ctx.faults = self.faults
        self._ctx.job_workers = self.job_workers
        return tls, self._ctx, _identity_secret(self.state_dir)

    def _wait_started(self) -> None:
        assert self._server is not None and self._thread is not None
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not self._server.started and self._thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        if not self._server.started:
            raise RuntimeError(
                "The emulator did not start; look for errors from the 'uvicorn' and "
                "'migrate_kit.emulator' loggers"
            )


def serve(
    *,
    sample: Path | str | None = DEFAULT_SAMPLE,
    state_dir: Path | str = ".emulator",
    port: int = 0,
    connection_file: Path | str | None = None,
    on_ready: Callable[[dict[str, Any]], None] | None = None,
    settings: FaultSettings | None = None,
    job_workers: int = 2,
) -> None:
    """Run the emulator in the foreground until SIGINT or SIGTERM, then shut down cleanly.

    ``on_ready`` receives the connection dict once the emulator answers (the CLI prints it);
    ``settings`` and ``job_workers`` are passed to ``Emulator``.
    """
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        logger.info("Signal %s received; stopping the emulator", signum)
        stop.set()

    previous = {s: signal.signal(s, _on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        emulator = Emulator(
            state_dir=state_dir,
            sample=sample,
            port=port,
            connection_file=connection_file,
            settings=settings,
            job_workers=job_workers,
        )
        with emulator:
            if on_ready is not None:
                on_ready(emulator.connection)
            while not stop.wait(0.5):
                pass
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


# -- helpers -----------------------------------------------------------------------------------


def _sample_folder(sample: Path | str | None) -> Path | None:
    """The sample to seed from; the default one may be missing (an installed package has no
    ``data/``), in which case the workspace starts empty."""
    if sample is None:
        return None
    folder = Path(sample).resolve()
    if folder == DEFAULT_SAMPLE and not folder.is_dir():
        logger.warning("Default sample %s not found; starting an empty workspace", folder)
        return None
    return folder


def _bind(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit TCP_NODELAY. Without it, a response written as two TLS
    # records (headers, then body) waits for the client's delayed ACK: about 40 ms a request.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError as exc:
        sock.close()
        raise OSError(
            f"Cannot listen on 127.0.0.1:{port} ({exc.strerror}); choose another port, "
            "or 0 for a free one"
        ) from exc
    return sock


def _identity_secret(state_dir: Path) -> str:
    """The managed-identity header value, created once per state folder."""
    path = state_dir / "identity-secret"
    if not path.is_file():
        path.write_text(secrets.token_hex(16))
        path.chmod(0o600)
    return path.read_text().strip()


def _connection(ctx: Context, ca_cert: Path, secret: str, state_dir: Path) -> dict[str, Any]:
    """The connection file's content (see the module docstring for ``env``)."""
    cfg, base = ctx.config, ctx.base_url
    # The v1 SDK caches the cloud list here; a cache from an earlier port would mislead it.
    azure_config_dir = state_dir / "azure-config"
    azure_config_dir.mkdir(exist_ok=True)
    (azure_config_dir / "cloudEndpoints.json").unlink(missing_ok=True)
    env = {
        "REQUESTS_CA_BUNDLE": str(ca_cert),
        "SSL_CERT_FILE": str(ca_cert),
        "ARM_CLOUD_METADATA_URL": f"{base}/metadata/endpoints?api-version=2019-05-01",
        "AZUREML_CURRENT_CLOUD": CLOUD_NAME,
        "AZURE_CONFIG_DIR": str(azure_config_dir),
        "IDENTITY_ENDPOINT": f"{base}/msi/token",
        "IDENTITY_HEADER": secret,
        "MSI_ENDPOINT": f"{base}/msi/token",
        "MSI_SECRET": secret,
    }
    return {
        "subscription_id": cfg.subscription_id,
        "resource_group": cfg.resource_group,
        "workspace_name": cfg.workspace_name,
        "workspace_id": cfg.workspace_id,
        "region": cfg.region,
        "tenant_id": cfg.tenant_id,
        "arm_url": base,
        "pipelines_url": base,
        "blob_base_url": ctx.blob_base_url,
        "ca_bundle": str(ca_cert),
        "env": env,
        "base_url": base,
        "state_dir": str(state_dir),
        "pid": os.getpid(),
    }

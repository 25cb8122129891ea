"""Start and stop the GStreamer RTSP server (``streams/rtsp_server.py``) from Python.

The server needs Debian's ``/usr/bin/python3`` (its ``gi`` bindings do not import
in a virtualenv), so it runs as a child process in its own process group,
stopped by signalling that group. Used by the test fixtures and by the demo.

Example:
    >>> server = start_rtsp_server({"/cam1": Path("clip.mp4")}, loop=True)  # doctest: +SKIP
    >>> server.url("/cam1")  # doctest: +SKIP
    'rtsp://127.0.0.1:41234/cam1'
    >>> server.stop()  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import threading
from collections import deque
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

SYSTEM_PYTHON = Path("/usr/bin/python3")
SERVER_SCRIPT = Path(__file__).with_name("rtsp_server.py")
DEBIAN_PACKAGES = (
    "gstreamer1.0-rtsp",
    "gir1.2-gst-rtsp-server-1.0",
    "gstreamer1.0-plugins-base",
    "gstreamer1.0-plugins-good",
    "gstreamer1.0-plugins-ugly",
    "python3-gst-1.0",
)
_READY = re.compile(r"READY port=(\d+)")
_PROBE = (
    "import gi; gi.require_version('Gst', '1.0'); gi.require_version('GstRtspServer', '1.0'); "
    "from gi.repository import Gst, GstRtspServer; Gst.init(None); "
    "missing = [n for n in ('qtdemux', 'h264parse', 'rtph264pay', 'x264enc', 'videotestsrc') "
    "if Gst.ElementFactory.find(n) is None]; "
    "assert not missing, 'missing GStreamer elements: ' + ', '.join(missing)"
)


class RtspServerError(RuntimeError):
    """The RTSP server could not be started."""


def rtsp_server_available() -> bool:
    """True if ``/usr/bin/python3`` can run the server (GstRtspServer and elements present)."""
    return rtsp_server_problem() is None


def rtsp_server_problem() -> str | None:
    """Why the server cannot run here, naming the Debian packages to install; None if it can."""
    hint = "install the Debian packages: " + " ".join(DEBIAN_PACKAGES)
    if not SYSTEM_PYTHON.exists():
        return f"{SYSTEM_PYTHON} not found; {hint}"
    try:
        probe = subprocess.run(
            [str(SYSTEM_PYTHON), "-c", _PROBE],
            capture_output=True,
            text=True,
            timeout=30,
            env=_clean_env(),
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"cannot run {SYSTEM_PYTHON}: {exc}; {hint}"
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["unknown error"])[-1]
        return f"GStreamer RTSP server unavailable ({last}); {hint}"
    return None


class _OutputReader:
    """Reads the server's output on a thread: finds the ready line, keeps the tail.

    Reading must go on after start-up, or a chatty server would fill the pipe
    and block.
    """

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self._process = process
        self.tail: deque[str] = deque(maxlen=50)
        self.port: int | None = None
        self.ready = threading.Event()
        self._thread = threading.Thread(target=self._read, name="rtsp-server-output", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            self.tail.append(line)
            match = _READY.search(line)
            if match and self.port is None:
                self.port = int(match.group(1))
                self.ready.set()
        self.ready.set()  # exited: wake the waiter

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)


class RtspServerProcess:
    """A running RTSP server child process. Stop it with :meth:`stop` (or ``with``)."""

    def __init__(
        self, process: subprocess.Popen[str], output: _OutputReader, host: str, port: int
    ) -> None:
        self._process = process
        self._output = output
        self.host = host
        self.port = port

    @property
    def pid(self) -> int:
        """Process id of the server (also its process group id)."""
        return self._process.pid

    @property
    def output(self) -> str:
        """The last lines the server printed (for diagnosing failures)."""
        return "".join(self._output.tail)

    def url(self, mount: str) -> str:
        """The ``rtsp://`` URL of a mount, e.g. ``url("/cam1")``."""
        return f"rtsp://{self.host}:{self.port}/{mount.lstrip('/')}"

    def running(self) -> bool:
        """True while the server process is alive."""
        return self._process.poll() is None

    def stop(self, timeout: float = 5.0) -> None:
        """Terminate the server's process group; kill it if it does not exit in time."""
        _terminate(self._process, self._output, timeout)

    def kill(self) -> None:
        """Kill the server abruptly (SIGKILL), like a camera losing power."""
        if self._process.poll() is None:
            _signal_group(self._process.pid, signal.SIGKILL)
        self.stop()

    def __enter__(self) -> RtspServerProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_rtsp_server(
    mounts: Mapping[str, Path],
    port: int | None = None,
    live_test: bool = False,
    *,
    loop: bool = False,
    host: str = "127.0.0.1",
    ready_timeout_s: float = 15.0,
) -> RtspServerProcess:
    """Start the RTSP server and wait until it listens.

    Args:
        mounts: Mount path (``"/cam1"``) to H.264 MP4 file, served without re-encoding.
        port: TCP port; None lets the server pick a free one (see ``.port``).
        live_test: Also serve a live test pattern at ``/test``.
        loop: Restart file mounts at their end instead of ending the stream.
        host: Address to listen on.
        ready_timeout_s: How long to wait for the server to report ready.

    Returns:
        The running server; call ``.stop()`` when done.

    Raises:
        RtspServerError: The server exited or did not become ready in time.
    """
    args = [str(SYSTEM_PYTHON), str(SERVER_SCRIPT), "--host", host, "--port", str(port or 0)]
    for mount, path in mounts.items():
        args += ["--mount", f"/{mount.lstrip('/')}={Path(path).resolve()}"]
    if live_test:
        args += ["--live-test", "/test"]
    if loop:
        args.append("--loop")
    process = subprocess.Popen(
        args,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=_clean_env(),
        start_new_session=True,  # own process group: stop() signals all of it
    )
    output = _OutputReader(process)
    output.ready.wait(ready_timeout_s)
    if output.port is None:
        _terminate(process, output, timeout=2.0)
        tail = "".join(output.tail).strip() or "(no output)"
        raise RtspServerError(f"RTSP server not ready (exit code {process.returncode}): {tail}")
    return RtspServerProcess(process, output, host, output.port)


def _terminate(process: subprocess.Popen[str], output: _OutputReader, timeout: float) -> None:
    if process.poll() is None:
        _signal_group(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            _signal_group(process.pid, signal.SIGKILL)
            process.wait(timeout)
    output.join(timeout)
    if process.stdout is not None:
        process.stdout.close()


def _signal_group(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # already gone
        os.killpg(pid, signum)


def _clean_env() -> dict[str, str]:
    # The virtualenv's variables would make the system Python look for modules
    # in the venv, whose compiled packages do not match it.
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONHOME"}}
    env.pop("VIRTUAL_ENV", None)
    return env

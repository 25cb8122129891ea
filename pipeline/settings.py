"""Settings the `trafficcam` command reads from the environment, in one place.

Read fresh on each call of `environment()`, so a variable set after start-up (a test's
`monkeypatch.setenv`) is seen. The variable names are the field aliases, exactly as
written: no prefix is added and case matters.

Variables read elsewhere, because of the layer rules:

- `TRAFFICCAM_HOME` (where models and sprites are cached) is read by
  `models.weights.home()`: `models/` imports nothing of the project, so it cannot
  read this module; pipeline code asks `models.weights.home()` for the directory.
- `TRAFFICCAM_SESSION_SECRET` (the review UI's cookie-signing key) is read by
  `review_ui.session_secret`: `review_ui/` imports only `pipeline.config` and
  `pipeline.store`.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class EnvironmentSettings(BaseSettings):
    """The environment variables of the command line and the demo."""

    model_config = SettingsConfigDict(case_sensitive=True, extra="ignore")

    password: str | None = Field(
        default=None,
        validation_alias="TRAFFICCAM_PASSWORD",
        description="Password for `trafficcam users add/passwd` when --password-stdin "
        "is not given (empty: asked at the terminal).",
    )
    kafka_bootstrap_servers: str | None = Field(
        default=None,
        validation_alias="KAFKA_BOOTSTRAP_SERVERS",
        description="Comma-separated HOST:PORT list of the Kafka the demo uses "
        "(empty: the demo starts an embedded broker).",
    )


def environment() -> EnvironmentSettings:
    """The environment's settings as they are now."""
    return EnvironmentSettings()

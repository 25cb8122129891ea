"""Settings read from the environment, in one place.

Read fresh on each call of `environment()`, so a variable set after start-up (a test's
`monkeypatch.setenv`) is seen. The variable names are the field aliases, exactly as
written: no prefix is added and case matters.

Variables read elsewhere, because of the layer rules:

- `TRAFFICCAM_HOME` (where models and sprites are cached) is read by
  `models.weights.home()`: `models/` imports nothing of the project, so it cannot
  read this module; pipeline code asks `models.weights.home()` for the directory.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

SESSION_SECRET_VARIABLE = "TRAFFICCAM_SESSION_SECRET"


class EnvironmentSettings(BaseSettings):
    """The environment variables of the command line, the demo and the review UI."""

    model_config = SettingsConfigDict(case_sensitive=True, extra="ignore")

    password: str | None = Field(
        default=None,
        validation_alias="TRAFFICCAM_PASSWORD",
        description="Password for `trafficcam users add/passwd` when --password-stdin "
        "is not given (empty: asked at the terminal).",
    )
    session_secret: str | None = Field(
        default=None,
        validation_alias=SESSION_SECRET_VARIABLE,
        description="The review UI's cookie-signing secret (at least 32 characters); "
        "it wins over the config's review.session_secret_file and session_secret.",
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

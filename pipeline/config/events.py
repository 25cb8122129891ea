"""`kafka`: the brokers events are published to and the topic of each kind of event."""

from __future__ import annotations

from pydantic import Field, field_validator

from pipeline.config.base import StrictModel


class KafkaTopics(StrictModel):
    violations: str = "violations"
    camera_health: str = "camera-health"
    reviews: str = "reviews"
    signal_phases: str = Field(
        default="signal-phases",
        description="Signal phase changes from controllers (published by the review UI's "
        "signals API, or by a controller directly); workers follow it.",
    )
    system_alerts: str = Field(
        default="system-alerts",
        description="Alerts about the installation itself, e.g. the evidence disk nearly full.",
    )


class KafkaConfig(StrictModel):
    bootstrap_servers: list[str] = Field(min_length=1, description="host:port of brokers.")
    topics: KafkaTopics = Field(default_factory=KafkaTopics)

    @field_validator("bootstrap_servers")
    @classmethod
    def _host_port(cls, servers: list[str]) -> list[str]:
        for server in servers:
            host, _, port = server.rpartition(":")
            if not host or not port.isdigit():
                raise ValueError(f"bootstrap server {server!r} is not host:port")
        return servers

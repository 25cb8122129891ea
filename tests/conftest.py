"""Shared pytest set-up: real services come from the fixture plugins below."""

pytest_plugins = [
    "tests.fixtures.rtsp",
    "tests.fixtures.kafka",
    "tests.fixtures.postgres",
    "tests.fixtures.s3",
]

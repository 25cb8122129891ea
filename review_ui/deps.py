"""Request-scoped dependencies shared by every router: the database session, the config and
the evidence blob store."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from pipeline.config import AppConfig
from pipeline.store.blobs import BlobStore, open_blob_store


def get_db(request: Request) -> Iterator[Session]:
    """One session per request, closed when the response is done.

    Routes commit explicitly; anything not committed is rolled back on close.
    """
    with request.app.state.session_factory() as session:
        yield session


def get_config(request: Request) -> AppConfig:
    config: AppConfig = request.app.state.config
    return config


def get_blobs(request: Request) -> BlobStore:
    """The evidence store `evidence.store` selects, made once per app (an S3 client is
    thread-safe and keeps its connection pool)."""
    state = request.app.state
    blobs: BlobStore | None = getattr(state, "evidence_blobs", None)
    if blobs is None:
        blobs = state.evidence_blobs = open_blob_store(get_config(request).evidence)
    return blobs


SessionDep = Annotated[Session, Depends(get_db)]
ConfigDep = Annotated[AppConfig, Depends(get_config)]
BlobsDep = Annotated[BlobStore, Depends(get_blobs)]

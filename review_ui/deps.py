"""Request-scoped dependencies shared by every router: the database session and the config."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from pipeline.config import AppConfig


def get_db(request: Request) -> Iterator[Session]:
    """One session per request, closed when the response is done.

    Routes commit explicitly; anything not committed is rolled back on close.
    """
    with request.app.state.session_factory() as session:
        yield session


def get_config(request: Request) -> AppConfig:
    config: AppConfig = request.app.state.config
    return config


SessionDep = Annotated[Session, Depends(get_db)]
ConfigDep = Annotated[AppConfig, Depends(get_config)]

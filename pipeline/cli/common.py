"""What every command module shares: the error a user can fix, signals, one session."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, TypeAlias

from pipeline.config import load_config

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    # What `add_subparsers()` returns: each command module adds its own commands to it.
    Subparsers: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]

# The one logger of the command line (its name shows in every log line).
log = logging.getLogger("trafficcam")


class CommandError(Exception):
    """A problem with the command's input; printed without a traceback."""


def stop_on_signals(stop: threading.Event) -> None:
    """Set `stop` on SIGINT or SIGTERM, so a running command ends cleanly."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def in_session(
    args: argparse.Namespace,
    action: Callable[[Session], str],
    user_error: type[Exception],
) -> int:
    """Run `action` in one transaction on the database of `args.config` and print what
    it returns; `user_error` (the store's error for bad input) becomes a CommandError."""
    from pipeline.store.db import open_database

    config = load_config(args.config)
    _, session_factory = open_database(config.database_url)
    try:
        with session_factory.begin() as session:
            print(action(session))
    except user_error as exc:
        raise CommandError(str(exc)) from None
    return 0

"""`trafficcam users add|passwd|disable|plates`: accounts of the review UI."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import TYPE_CHECKING

from pipeline.cli.common import CommandError, in_session

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from pipeline.cli.common import Subparsers

ROLES = ("police", "operator", "analyst", "admin")


def _read_password(args: argparse.Namespace) -> str:
    """--password-stdin, else $TRAFFICCAM_PASSWORD, else asked twice at the terminal."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    from pipeline.config.environment import environment

    from_env = environment().password
    if from_env:
        return from_env
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise CommandError("the two passwords differ")
    return first


def cmd_users_add(args: argparse.Namespace) -> int:
    from pipeline.store.users import UserError, add_user

    password = _read_password(args)
    return in_session(
        args,
        lambda s: f"added {add_user(s, args.name, password, args.role).username} ({args.role})",
        UserError,
    )


def cmd_users_passwd(args: argparse.Namespace) -> int:
    from pipeline.store.users import UserError, set_password

    password = _read_password(args)

    def change(session: Session) -> str:
        set_password(session, args.name, password)
        return f"password of {args.name} changed"

    return in_session(args, change, UserError)


def cmd_users_disable(args: argparse.Namespace) -> int:
    from pipeline.store.users import UserError, set_disabled

    def disable(session: Session) -> str:
        set_disabled(session, args.name)
        return f"{args.name} disabled"

    return in_session(args, disable, UserError)


def cmd_users_plates(args: argparse.Namespace) -> int:
    from pipeline.store.users import UserError, set_plate_access

    def grant(session: Session) -> str:
        set_plate_access(session, args.name, not args.revoke)
        return f"{args.name} {'no longer sees' if args.revoke else 'now sees'} plates"

    return in_session(args, grant, UserError)


def add_parser(sub: Subparsers) -> None:
    users = sub.add_parser("users", help="review UI accounts").add_subparsers(
        dest="users_command", required=True
    )
    for name, func, help_text in (
        ("add", cmd_users_add, "add a user"),
        ("passwd", cmd_users_passwd, "change a password"),
        ("disable", cmd_users_disable, "disable a user"),
    ):
        command = users.add_parser(name, help=help_text)
        command.add_argument("name")
        command.add_argument("--config", default="trafficcam.yaml")
        if name == "add":
            command.add_argument("--role", required=True, choices=ROLES)
        if name != "disable":
            command.add_argument(
                "--password-stdin", action="store_true", help="read the password from stdin"
            )
        command.set_defaults(func=func)

    plates = users.add_parser(
        "plates", help="let an analyst see plates whole in the history (--revoke: stop)"
    )
    plates.add_argument("name")
    plates.add_argument("--revoke", action="store_true", help="mask plates again")
    plates.add_argument("--config", default="trafficcam.yaml")
    plates.set_defaults(func=cmd_users_plates)

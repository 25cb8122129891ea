"""`trafficcam tokens add|list|revoke`: API tokens of machine clients."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from pipeline.cli.common import in_session

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from pipeline.cli.common import Subparsers


def cmd_tokens_add(args: argparse.Namespace) -> int:
    from pipeline.store.api_tokens import TokenError, add_token

    def add(session: Session) -> str:
        made = add_token(
            session,
            args.name,
            args.role,
            cameras=args.camera or (),
            heads=args.head or (),
            controller_id=args.controller,
        )
        heads = ", ".join(made.heads) if made.heads else "all their heads"
        return (
            f"token {made.name} ({made.role}) for cameras {', '.join(made.cameras)} "
            f"({heads}), controller {made.controller_id}; send it as "
            f"'Authorization: Bearer <token>'. It is shown only now:\n{made.token}"
        )

    return in_session(args, add, TokenError)


def cmd_tokens_list(args: argparse.Namespace) -> int:
    from pipeline.store.api_tokens import TokenError, describe_scope, list_tokens

    def show(session: Session) -> str:
        rows = list_tokens(session)
        if not rows:
            return "no tokens"
        return "\n".join(
            f"{row.name}\t{row.role}\tcreated {row.created_at:%Y-%m-%d %H:%M} UTC\t"
            + (f"revoked {row.revoked_at:%Y-%m-%d %H:%M} UTC" if row.revoked_at else "active")
            + f"\t{describe_scope(row)}"
            for row in rows
        )

    return in_session(args, show, TokenError)


def cmd_tokens_revoke(args: argparse.Namespace) -> int:
    from pipeline.store.api_tokens import TokenError, revoke_token

    def revoke(session: Session) -> str:
        revoke_token(session, args.name)
        return f"token {args.name} revoked"

    return in_session(args, revoke, TokenError)


def add_parser(sub: Subparsers) -> None:
    tokens = sub.add_parser(
        "tokens", help="API tokens of machine clients (signal controllers)"
    ).add_subparsers(dest="tokens_command", required=True)
    add = tokens.add_parser("add", help="make a token; it is printed once, never stored")
    add.add_argument("name", help="the client's name, e.g. controller-ltk-hangbai")
    add.add_argument("--role", required=True, choices=("signal-controller",))
    add.add_argument(
        "--camera", action="append", help="a camera it reports for (repeat for several)"
    )
    add.add_argument(
        "--head",
        action="append",
        help="a head it reports: HEAD (of each --camera) or CAMERA/HEAD (default: all heads)",
    )
    add.add_argument("--controller", help="the controller id its posts carry")
    add.set_defaults(func=cmd_tokens_add)
    listing = tokens.add_parser("list", help="list tokens (names, roles, revoked or not)")
    listing.set_defaults(func=cmd_tokens_list)
    revoke = tokens.add_parser("revoke", help="revoke a token at once")
    revoke.add_argument("name")
    revoke.set_defaults(func=cmd_tokens_revoke)
    for command in (add, listing, revoke):
        command.add_argument("--config", default="trafficcam.yaml")

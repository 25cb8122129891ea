"""`trafficcam serve`: the review UI."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from pipeline.cli.common import CommandError
from pipeline.config import load_config

if TYPE_CHECKING:
    from pipeline.cli.common import Subparsers


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from review_ui.app import create_app
    from review_ui.session_secret import SessionSecretError

    config = load_config(args.config)
    try:
        app = create_app(config)
    except SessionSecretError as exc:
        raise CommandError(str(exc)) from None
    print(f"review UI on http://{args.host}:{args.port}")
    # proxy_headers off: X-Forwarded-For is read by the app itself, and believed only
    # from review.trusted_proxies (uvicorn's own default trusts 127.0.0.1 for it).
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", proxy_headers=False)
    return 0


def add_parser(sub: Subparsers) -> None:
    serve = sub.add_parser("serve", help="serve the review UI")
    serve.add_argument("--config", required=True)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(func=cmd_serve)

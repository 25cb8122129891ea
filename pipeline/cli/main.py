"""`trafficcam` command line: the composition root of the project.

The parser is in `pipeline.cli.parser`, each command group in its own module
(`pipeline.cli.run` assembles the running system). Every subcommand reports bad input
as one clear message and exit status 1; it never shows a traceback for a mistake the
user can fix.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

from pipeline.cli.common import CommandError
from pipeline.cli.parser import build_parser
from pipeline.config import ConfigError


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("urllib3", "ultralytics", "multipart", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # kafka-python logs every failed connection attempt at ERROR while a broker is
    # down; the relay reports that state itself, once, as a warning.
    logging.getLogger("kafka").setLevel(logging.CRITICAL)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _setup_logging(args.verbose)
    try:
        return int(args.func(args))
    except (ConfigError, CommandError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

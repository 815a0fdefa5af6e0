"""The ``esign`` command line: the only place where errors become messages and exit codes.

Exit codes: 0 success, 1 a failure or a negative verdict, 2 a usage or configuration error; ``esign verify`` also
uses 3 (incomplete: an earlier version) and 4 (unknown), see :mod:`esign.cli.verify_command`.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from esign.errors import ConfigError, EsignError

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


class UsageError(EsignError):
    """The command was called wrongly (a missing file, a bad option value)."""


def build_parser() -> argparse.ArgumentParser:
    from esign.cli import core_commands, pipeline_commands

    parser = argparse.ArgumentParser(prog="esign", description="Batch e-signature pipeline for CRM deals.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    core_commands.register(sub)
    pipeline_commands.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        code: int = args.handler(args)
    except (UsageError, ConfigError) as exc:
        print(f"esign: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except EsignError as exc:
        print(f"esign: {exc}", file=sys.stderr)
        return EXIT_FAIL
    except KeyboardInterrupt:
        print("esign: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and closed early: not an error of ours
        sys.stderr.close()
        return EXIT_OK
    return code


if __name__ == "__main__":
    sys.exit(main())

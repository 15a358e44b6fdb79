"""The ``govnlp`` command line: ``main(argv) -> int``.

Each subcommand group lives in its own module with a ``register(subparsers)`` function; errors derived
from :class:`govnlp.errors.GovnlpError` are printed to stderr with exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence
from typing import NoReturn

from govnlp._version import __version__
from govnlp.errors import GovnlpError

# modules under govnlp.cli that define register(subparsers)
_COMMAND_MODULES = ("parse", "match", "classify", "index", "serve", "route")


class _Parser(argparse.ArgumentParser):
    """argparse with usage errors on one line (exit code 2), like every other govnlp CLI error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="govnlp",
        description="Parse, search and classify the replies of Chinese government agencies.",
    )
    parser.add_argument("--version", action="version", version=f"govnlp {__version__}")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bars or info logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in _COMMAND_MODULES:
        importlib.import_module(f"govnlp.cli.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code (0 ok, 2 usage or input error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    # govnlp's own messages (and progress bars, tied to its level) at INFO; other libraries at WARNING
    logging.basicConfig(
        level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    logging.getLogger("govnlp").setLevel(logging.WARNING if args.quiet else logging.INFO)
    # pypdf warns about each defect of a damaged PDF; govnlp's own error says what matters, on one line
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:
        return 0
    except GovnlpError as exc:
        return _fail(args.command, str(exc))
    except (OSError, UnicodeError, RecursionError, MemoryError) as exc:
        # input the commands could not read (a missing or unreadable file, bad bytes, too deep, too big)
        return _fail(args.command, f"{type(exc).__name__}: {exc}")
    except KeyboardInterrupt:
        return 130


def _fail(command: str, message: str) -> int:
    """Print one error line (newlines in the message folded) and return exit code 2."""
    line = " ".join(message.split())
    print(f"govnlp {command}: error: {line}", file=sys.stderr)
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

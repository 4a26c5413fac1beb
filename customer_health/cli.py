"""The `health` command: one entry point, one sub-command per step."""

from __future__ import annotations

import argparse
import sys
from datetime import date


class UsageError(Exception):
    """A bad option or input, reported as one clear line before any work starts."""


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date (YYYY-MM-DD): {text!r}") from None


def _add_generate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "generate",
        help="write a deterministic demo company's raw tables",
        description="Write every table of the raw contract for a realistic demo company under OUT/<source>/<table>.<format>.",
    )
    p.add_argument("--accounts", type=int, default=1000, help="number of customer accounts (default 1000)")
    p.add_argument("--seed", type=int, default=42, help="random seed; the same arguments give byte-identical files")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--start", type=_iso_date, default=None, help="first day of history (default 2024-11-01)")
    p.add_argument("--end", type=_iso_date, default=None, help="last day of history (default 2026-10-31)")
    p.add_argument("--format", choices=["parquet", "csv"], default="parquet")
    p.add_argument("--bad-rows", type=float, default=0.0, help="share of rows that break a contract rule (0-0.5)")

    def run(args: argparse.Namespace) -> int:
        from customer_health.generate import main_generate

        return main_generate(args)

    p.set_defaults(func=run)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="health", description="Customer-health warehouse.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_generate(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UsageError as exc:
        print(f"health {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

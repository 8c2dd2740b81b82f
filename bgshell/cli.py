"""Command-line entry point (placeholder until the shell lands)."""

from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    print("bgshell 0.1.0")
    return 0

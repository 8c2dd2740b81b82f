"""Running a pasted block piece by piece, as a pasted shell script runs.

``bgshell.shell.language.paste`` cuts the block into its top-level statements (only
when some end in ``&``); here they run in order, each through the shell as if it
had been typed alone: an ``&`` statement becomes a job, a builtin line runs the
builtin, the rest runs in the foreground.  An error in one piece does not stop the
pieces after it, as in a shell script; Ctrl-C in a foreground piece does (the user
asked to stop), with one line saying so.
"""

from __future__ import annotations

from builtins import print  # bound at import: a job replacing builtins.print cannot silence the shell
import sys
from typing import Protocol

from bgshell.shell.language.paste import Piece

__all__ = ["run_pieces"]


class _Shell(Protocol):
    def handle(self, text: str, first_line: int = 1) -> None: ...

    def announce_finished(self) -> None: ...


def run_pieces(shell: _Shell, pieces: list[Piece], first_line: int = 1) -> None:
    """Run *pieces* of a block that starts at line *first_line* of its script (if any)."""
    for index, piece in enumerate(pieces):
        if index:
            shell.announce_finished()  # as between the inputs of a script
        before = getattr(sys, "last_value", None)
        shell.handle(piece.text, first_line + piece.line - 1)
        after = getattr(sys, "last_value", None)
        if after is not before and isinstance(after, KeyboardInterrupt) and index + 1 < len(pieces):
            left = len(pieces) - index - 1
            print(f"(interrupted: the {left} statement{'' if left == 1 else 's'} after it in the paste did not run)",
                  file=sys.stderr)
            return

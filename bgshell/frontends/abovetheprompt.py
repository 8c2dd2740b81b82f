"""What goes above the prompt while it is up: what other threads print, and the
announcements of jobs that end or wait for input.  A mixin of the line editor
(``ui.UI``), run in its thread.

Text from any thread is queued (``notify``) and written in the editor's loop: the
prompt is erased, the complete lines written, the prompt drawn again below them.
A line not finished yet waits for its end, since the prompt would continue it;
while code runs (the prompt is not up) everything waits for the next prompt.
"""

from __future__ import annotations

import threading
from typing import Any

from bgshell.frontends.termio import STDOUT, write_all
from bgshell.shell.joblines import announcements, waiting_line

__all__ = ["AboveThePrompt"]


class AboveThePrompt:
    """Mixed into the UI: writing above the prompt."""

    app: Any
    shell: Any
    editing: bool
    notify_immediately: bool

    def _init_notes(self) -> None:
        self._notes: list[str] = []
        self._notes_lock = threading.Lock()
        self._notes_scheduled = False

    def notify(self, text: str) -> None:
        """From any thread: *text* goes above the prompt (or waits for it)."""
        with self._notes_lock:
            self._notes.append(text)
            first, self._notes_scheduled = not self._notes_scheduled, True
        if first:  # one wake-up of the loop for a burst of writes
            try:
                self.app.loop.call_soon_threadsafe(self._show_notes)
            except (RuntimeError, AttributeError):
                pass

    def job_event(self) -> None:
        """From a job's thread: a job ended or waits for input; announce it now."""
        if self.notify_immediately:
            try:
                self.app.loop.call_soon_threadsafe(self.announce)
            except (RuntimeError, AttributeError):
                pass

    def announce(self) -> None:
        """Announce what ended (and what waits for input) above the prompt."""
        if not self.editing:
            return  # the front end announces them once the code is done
        text = self._announcements()
        if text:
            self.notify(text)

    def _announcements(self) -> str:
        jobs = self.shell.jobs
        lines = announcements(jobs.drain_finished()) + [waiting_line(job) for job in jobs.drain_waiting()]
        return "".join(line + "\n" for line in lines)

    def _show_notes(self) -> None:
        """Lines go above the prompt, then the prompt is drawn again below them; a line
        not finished yet waits for its end (the prompt would continue it)."""
        with self._notes_lock:
            self._notes_scheduled = False
            if not self.editing:
                return  # written when the prompt comes back
            text = "".join(self._notes)
            cut = text.rfind("\n") + 1
            if not cut:
                return
            self._notes = [text[cut:]] if text[cut:] else []
        self.app.renderer.erase()
        write_all(STDOUT, text[:cut].replace("\n", "\r\n").encode("utf-8", "replace"))
        self.app._redraw()

    def _write_notes(self, more: str = "") -> None:
        with self._notes_lock:
            text, self._notes = "".join(self._notes) + more, []
        if text:
            write_all(STDOUT, text.replace("\n", "\r\n").encode("utf-8", "replace"))

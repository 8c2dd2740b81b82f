"""The line editor's fast paths: what makes a keystroke and an Enter cost a fraction of
what prompt_toolkit's general machinery costs, for the few cases that are almost
every case.

Each falls back to prompt_toolkit's own way when its case does not hold, and each
gives what prompt_toolkit would have drawn (``tests/test_fastpaths.py`` compares
the screens):

* ``FastOutput``: one ``write`` per flush (no ``fcntl`` around it), the size cached
  and refreshed on SIGWINCH instead of an ``ioctl`` per render;
* ``DirectReader``: the terminal read without a ``select`` before it, and a line
  typed ahead while code runs left in the terminal until the prompt is back;
* rendering at the end of each batch of keys, in the same loop callback, instead
  of through ``call_soon_threadsafe`` and prompt_toolkit's postponing loop;
* printable keys typed into a plain input go in with one ``insert_text``, skipping
  the key processor (about 0.15 ms a key), and an Enter after them straight to the
  shell's Enter;
* echo by difference: characters typed at the end of a one-line input are written
  from the first cell that changed;
* the finished input drawn from the lexer's fragments, without the layout;
* the empty prompt after an input replayed from the bytes of the first one.

These touch prompt_toolkit internals (``Renderer`` state, ``KeyProcessor`` queue,
``Application._invalidated``); prompt_toolkit is pinned to 3.0.x for that.
"""

from __future__ import annotations

import codecs
import os
import threading
from typing import Any, Callable

from prompt_toolkit.data_structures import Point
from prompt_toolkit.document import Document
from prompt_toolkit.enums import EditingMode
from prompt_toolkit.keys import Keys
from prompt_toolkit.output.vt100 import Vt100_Output

from bgshell.frontends.termio import STDOUT, write_all

__all__ = ["FastOutput", "DirectReader", "FastPaths", "RENDERER_STATE"]

#: The renderer's state after drawing the empty prompt, saved with its bytes.
RENDERER_STATE = ("_cursor_pos", "_last_screen", "_last_size", "_last_style", "_last_cursor_shape",
                  "_bracketed_paste_enabled", "_cursor_key_mode_reset", "_last_style_hash",
                  "_last_transformation_hash", "_last_color_depth", "mouse_handlers")


class FastOutput(Vt100_Output):
    """prompt_toolkit's output with one ``write(2)`` per flush; *recording* collects
    what is written while it is a list (for the prompt replay)."""

    recording: list[str] | None = None

    def flush(self) -> None:
        if self._buffer:
            data, self._buffer = "".join(self._buffer), []
            if self.recording is not None:
                self.recording.append(data)
            write_all(STDOUT, data.encode("utf-8", "replace"))


class DirectReader:
    """The terminal reader of prompt_toolkit's ``Vt100Input``, without the ``select``
    before each read.  While code runs (*away* says so), a line typed ahead is left
    in the terminal: the reader detaches itself (*detach*) until the prompt is back."""

    def __init__(self, fd: int, away: Callable[[], bool], detach: Callable[[], None],
                 typed: Callable[[], None] = lambda: None) -> None:
        self.fd = fd
        self.closed = False
        self._away = away
        self._detach = detach
        self._typed = typed  # told of every read that brought keys
        self._decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape")

    def read(self, count: int = 1024) -> str:
        if self.closed:
            return ""
        if self._away():
            self._detach()
            return ""
        try:
            data = os.read(self.fd, count)
        except BlockingIOError:
            return ""
        except OSError:
            data = b""
        if not data:
            self.closed = True
            return ""
        self._typed()
        return self.decode(data)

    def decode(self, data: bytes) -> str:
        """*data* as text; an incomplete character at its end waits for the next bytes."""
        return self._decoder.decode(data)


class FastPaths:
    """Mixed into the UI: the fast ways to take keys, echo them, and draw prompts."""

    app: Any
    buffer: Any
    control: Any
    lexer: Any
    editing: bool
    done: bool
    ui_thread: int
    _size: Any

    def _init_fast_paths(self) -> None:
        self._plain_cache: dict[str, bool] = {}
        self._self_insert: Any = None
        self._attrs_cache: dict[Any, Any] = {}
        self._templates: dict[Any, Any] = {}

    def _prompt_width(self) -> int | None:
        """The primary prompt's width, when it is plain text (else no fast drawing)."""
        prompt = self._ps1  # type: ignore[attr-defined]
        return len(prompt) if prompt.isascii() and prompt.isprintable() else None

    # -- rendering without the invalidate -> call_soon_threadsafe -> postpone chain ---
    def _install_fast_render(self) -> None:
        """Render once, synchronously, at the end of each batch of keys."""
        app = self.app
        original_invalidate = app.invalidate

        def invalidate() -> None:
            if app._is_running and threading.get_ident() == self.ui_thread and not app._invalidated:
                app._invalidated = True
                app.loop.call_soon(redraw)
            else:
                original_invalidate()

        def redraw() -> None:
            if app._invalidated:
                app._invalidated = False
                app._redraw()

        app.invalidate = invalidate
        processor = app.key_processor
        original_process = processor.process_keys

        def process_keys() -> None:
            if processor.input_queue:
                self._fast_keys(processor)
                if not processor.input_queue:
                    redraw()  # the echo first; the key processor's own work after
            original_process()
            redraw()

        processor.process_keys = process_keys

    # -- keys ---------------------------------------------------------------------------
    def _fast_keys(self, processor: Any) -> None:
        """Printable keys at the head of the queue into the buffer as one insert, and an
        Enter after them straight to the shell's Enter, skipping the key processor.

        Only in the plain state (emacs mode, our buffer focused, no selection,
        completion, prefix, argument or macro), and only for characters whose one
        active binding is self-insert (checked once per character)."""
        app, buffer, queue = self.app, self.buffer, processor.input_queue
        if (processor.key_buffer or processor.arg is not None or app.editing_mode != EditingMode.EMACS
                or app.layout.current_buffer is not buffer or buffer.selection_state is not None
                or buffer.complete_state is not None or app.emacs_state.is_recording or not self.editing):
            return
        chars = []
        while queue:
            key = queue[0]
            if key.key != key.data or len(key.data) != 1 or not self._plain(key.data, processor):
                break
            chars.append(queue.popleft().data)
        if chars:
            if processor._previous_handler is not self._self_insert:
                buffer.save_to_undo_stack()  # what self-insert's save_before does
            processor._previous_handler = self._self_insert
            old = buffer.text
            buffer.insert_text("".join(chars))
            if not queue and self._fast_echo(old):
                app._invalidated = False  # echoed; prompt_toolkit's next render diffs it in
        if queue and queue[0].key == Keys.ControlM and buffer.complete_state is None:
            queue.popleft()
            processor._previous_handler = None
            self.enter(buffer)  # type: ignore[attr-defined]

    def _plain(self, char: str, processor: Any) -> bool:
        known = self._plain_cache.get(char)
        if known is None:
            known = False
            if char >= " " and char != "\x7f":
                registry = processor._bindings
                active = [b for b in registry.get_bindings_for_keys((char,)) if b.filter()]
                longer = [b for b in registry.get_bindings_starting_with_keys((char,)) if b.filter()]
                if len(active) == 1 and active[0].keys == (Keys.Any,) and not longer:
                    known = True
                    self._self_insert = active[0]
            self._plain_cache[char] = known
        return known

    def _cells(self, text: str) -> list[tuple[str, str]]:
        if self.lexer is None:
            return [("", char) for char in text]
        fragments = self.control._get_formatted_text_for_line_func(Document(text))(0)
        return [(style, char) for style, chunk, *_ in fragments for char in chunk]

    def _style_attrs(self, style: str) -> Any:
        renderer, cache = self.app.renderer, self._attrs_cache
        if cache.get(None) != renderer._last_style_hash:  # the style of the last render
            cache.clear()
            cache[None] = renderer._last_style_hash
        attrs = cache.get(style)
        if attrs is None:
            attrs = cache[style] = renderer.style.get_attrs_for_style_str(style)
        return attrs

    def _fast_echo(self, old: str) -> bool:
        """Characters typed at the end of a one-line input: write only from the first
        cell whose character or style changed.  The renderer is told where the cursor
        is now; its next real render rewrites those cells once more (same bytes)."""
        buffer, renderer, app = self.buffer, self.app.renderer, self.app
        new, width = buffer.text, self._prompt_width()
        if (width is None or not new.startswith(old) or buffer.cursor_position != len(new) or "\n" in new
                or not new.isascii() or not new.isprintable() or width + 1 + len(new) >= self._size.columns
                or renderer._last_screen is None or renderer._cursor_pos.y != 0
                or renderer._cursor_pos.x != width + len(old) or self.done or not self.editing):
            return False
        before, after = self._cells(old), self._cells(new)
        start = 0
        while start < len(before) and before[start] == after[start]:
            start += 1
        out, depth = app.output, app.color_depth
        out.hide_cursor()
        out.cursor_backward(len(old) - start)
        for style, char in after[start:]:
            out.set_attributes(self._style_attrs(style), depth)
            out.write(char)
        out.reset_attributes()
        out.show_cursor()
        renderer._cursor_pos = Point(x=width + len(new), y=0)
        renderer._last_style = None  # attributes were reset
        out.flush()
        return True

    # -- the finished input, and the next prompt ------------------------------------
    def _render_done_fast(self) -> bool:
        """Draw the finished input as prompt_toolkit's done-render would (its lines with
        their prompts, highlighted; menus and toolbar erased), from the lexer's
        fragments, without the layout."""
        app, renderer, out = self.app, self.app.renderer, self.app.output
        text = self.buffer.text
        if (self._prompt_width() is None or any(c < " " and c != "\n" for c in text)
                or renderer._last_screen is None or len(text) > 20_000):
            return False
        get_line = self.control._get_formatted_text_for_line_func(Document(text)) if self.lexer else None
        out.hide_cursor()
        out.disable_autowrap()
        out.cursor_up(renderer._cursor_pos.y)
        out.write_raw("\r")
        out.reset_attributes()
        out.enable_autowrap()
        out.erase_down()
        for index, line in enumerate(text.split("\n")):
            out.write(self._ps1 if index == 0 else self._ps2)  # type: ignore[attr-defined]
            for style, chunk, *_ in (get_line(index) if get_line else [("", line)]):
                out.set_attributes(self._style_attrs(style), app.color_depth)
                out.write(chunk)
            out.reset_attributes()
            out.write_raw("\r\n")
        renderer.reset()  # forgets the screen, shows the cursor, flushes once
        return True

    def _draw_prompt(self, cacheable: bool) -> None:
        """The empty prompt after an input: the same bytes and renderer state every time
        (for a size, a style, a prompt and no toolbar), so the first one is recorded
        and the later ones replayed."""
        app, renderer, out = self.app, self.app.renderer, self.app.output
        key = (self._size, renderer.style.invalidation_hash(), app.color_depth, self._ps1) if cacheable else None
        template = self._templates.get(key) if key else None
        if template is None:
            out.recording = [] if key else None
            app._redraw()
            if key:
                state = {name: getattr(renderer, name) for name in RENDERER_STATE}
                self._templates[key] = ("".join(out.recording), state, app.layout.visible_windows,
                                        out._cursor_visible)
                out.recording = None
            return
        data, state, windows, visible = template
        out.write_raw(data)
        out.flush()
        renderer.__dict__.update(state)
        app.layout.visible_windows = windows
        out._cursor_visible = visible
        app.render_counter += 1

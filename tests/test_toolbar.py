"""The bottom toolbar's line (issue 12): each running job's input, elapsed time and the
latest line it printed (a ``\\r`` progress line included), as many jobs as fit, never a
word cut in the middle, ``+N more`` for the rest."""

from __future__ import annotations

import threading

from hypothesis import given
from hypothesis import strategies as st

from bgshell import BackgroundJobManager
from bgshell.engine.capture import JobOutput
from bgshell.frontends.uiparts import clip_words, toolbar_text

WORDS = st.lists(st.text(alphabet="abcdefghij%|/0123456789", min_size=1, max_size=12), min_size=1, max_size=12)


@given(WORDS, st.integers(min_value=2, max_value=80))
def test_clip_words_cuts_between_words(words, limit):
    text = " ".join(words)
    clipped = clip_words(text, limit)
    assert len(clipped) <= limit
    if clipped == text:
        return
    kept = clipped.removesuffix("…")
    assert clipped.endswith("…") and text.startswith(kept)
    if len(words[0]) < limit:  # only a first word longer than the room is cut inside
        assert text[len(kept)] == " "


@given(WORDS, st.integers(min_value=2, max_value=80))
def test_clip_words_keeping_the_end_cuts_between_words(words, limit):
    text = " ".join(words)
    clipped = clip_words(text, limit, keep_end=True)
    assert len(clipped) <= limit
    if clipped == text:
        return
    kept = clipped.removeprefix("…")
    assert clipped.startswith("…") and text.endswith(kept)
    if len(words[-1]) < limit - 1:
        assert text[len(text) - len(kept) - 1] == " "


def test_the_latest_line_of_a_progress_bar_is_what_it_shows_now():
    output = JobOutput()
    output.write("starting\n")
    output.write("\r 10%|#         | 1/10")
    output.write("\r 20%|##        | 2/10")
    assert output.last_line() == "20%|##        | 2/10"
    output.write("\ntick 34\r")  # print(..., end="\r")
    assert output.last_line() == "tick 34"
    for piece in ("tick", " ", "35", "\n"):  # what print("tick", 35) writes
        output.write(piece)
    assert output.last_line() == "tick 35"


def test_the_toolbar_fits_its_width_and_counts_the_jobs_left_out():
    jobs = BackgroundJobManager()
    gate = threading.Event()
    try:
        started = [jobs.new(gate.wait) for _ in range(6)]
        for width in (20, 40, 80, 200):
            line = toolbar_text(started, width)
            assert len(line) <= width, (width, line)
            shown = line.count("[")
            assert shown >= 1
            if shown < len(started):
                assert line.endswith(f"+{len(started) - shown} more"), line
        assert "+" not in toolbar_text(started, 1000)
    finally:
        gate.set()
        jobs.wait()

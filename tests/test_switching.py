"""The prompt's switch interval beside thread jobs: lowered while the prompt is up,
lower still while keys come, and put back as it was, unless a job set its own."""

from __future__ import annotations

import sys

import pytest

from bgshell.frontends import switching
from bgshell.frontends.switching import IDLE, TYPING, SwitchInterval


@pytest.fixture(autouse=True)
def interval():
    before = sys.getswitchinterval()
    sys.setswitchinterval(0.005)
    yield
    sys.setswitchinterval(before)


def test_lowered_at_the_prompt_lower_while_typing_and_put_back():
    prompt = SwitchInterval()
    prompt.lower()
    assert sys.getswitchinterval() == pytest.approx(IDLE)
    prompt.typed()
    assert sys.getswitchinterval() == pytest.approx(TYPING)
    prompt.tick()  # typing has not paused yet
    assert sys.getswitchinterval() == pytest.approx(TYPING)
    prompt.restore()
    assert sys.getswitchinterval() == pytest.approx(0.005)


def test_back_to_idle_once_typing_pauses(monkeypatch):
    prompt = SwitchInterval()
    prompt.lower()
    prompt.typed()
    monkeypatch.setattr(switching.time, "monotonic", lambda: 10**9)  # long after the last key
    prompt.tick()
    assert sys.getswitchinterval() == pytest.approx(IDLE)


def test_an_interval_a_job_set_meanwhile_stays():
    prompt = SwitchInterval()
    prompt.lower()
    sys.setswitchinterval(0.002)  # a job's
    prompt.typed()
    assert sys.getswitchinterval() == pytest.approx(0.002)
    prompt.restore()
    assert sys.getswitchinterval() == pytest.approx(0.002)


def test_a_user_interval_lower_than_the_prompts_is_never_raised():
    sys.setswitchinterval(0.00001)
    prompt = SwitchInterval()
    prompt.lower()
    prompt.typed()
    assert sys.getswitchinterval() == pytest.approx(0.00001)
    prompt.restore()
    assert sys.getswitchinterval() == pytest.approx(0.00001)

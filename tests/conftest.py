"""Shared fixtures for the engine tests: a fresh job manager that cleans up after itself."""

from __future__ import annotations

import pytest

from bgshell.jobs import BackgroundJobManager


@pytest.fixture
def jobs():
    """A new ``BackgroundJobManager``; jobs still alive at the end are killed and waited."""
    manager = BackgroundJobManager()
    yield manager
    for job in list(manager.all.values()):
        if job.is_alive():
            job.kill()
    for job in list(manager.all.values()):
        job.wait_done(timeout=10)

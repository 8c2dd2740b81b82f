"""``bgshell.jobs``: the engine's public names at the import path IPython's users and
tests know (``import bgshell.jobs as bg``, ``bg.BackgroundJobManager()``).

The code lives in ``bgshell.engine``; this module only gathers its names.
"""

from bgshell.engine.job import BackgroundJobBase
from bgshell.engine.jobtypes import BackgroundJobCode, BackgroundJobExpr, BackgroundJobFunc
from bgshell.engine.manager import BackgroundJobManager
from bgshell.engine.states import DIED, NOT_FINISHED, JobKilled, JobState, NoSuchJob
from bgshell.engine.tracebacks import describe_exception, format_exception

__all__ = [
    "BackgroundJobManager",
    "BackgroundJobBase",
    "BackgroundJobExpr",
    "BackgroundJobFunc",
    "BackgroundJobCode",
    "JobState",
    "JobKilled",
    "NoSuchJob",
    "NOT_FINISHED",
    "DIED",
    "describe_exception",
    "format_exception",
]

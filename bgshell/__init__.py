"""bgshell: an interactive Python shell where a trailing ``&`` runs input in the background.

The engine (``bgshell.engine``, its names also in ``bgshell.jobs``) is usable on its own::

    from bgshell import BackgroundJobManager
    jobs = BackgroundJobManager()
    job = jobs.new(sum, range(10))
    job.join(); job.result  # 45
"""

from bgshell.engine.job import BackgroundJobBase
from bgshell.engine.jobtypes import BackgroundJobExpr, BackgroundJobFunc
from bgshell.engine.manager import BackgroundJobManager

__version__ = "0.1.0"
__all__ = [
    "BackgroundJobManager",
    "BackgroundJobBase",
    "BackgroundJobExpr",
    "BackgroundJobFunc",
    "__version__",
]

"""The job engine: jobs, their manager, and the runners that run them.

Self-contained: nothing here imports from the shell, its language or its front ends,
and prompt_toolkit is never loaded, so a program can use the engine alone
(``from bgshell import BackgroundJobManager``).  The layers, from the bottom:

* ``states``, ``tracebacks``, ``capture``, ``codesplit``: plain building blocks;
* ``runners``: where a job's code runs (a thread, a process, an asyncio task), one
  module per kind, each driving jobs only through the job's transition methods;
* ``kinds``: the one table of job kinds, and the registry that makes runners;
* ``job`` (the state machine), ``jobtypes`` (expression, function, code jobs),
  ``manager`` (IPython's ``BackgroundJobManager`` API).
"""

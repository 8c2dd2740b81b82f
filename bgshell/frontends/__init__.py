"""Front ends: the only home of prompt_toolkit.  ``terminal`` reads input at a
terminal (with ``early_prompt`` and ``history``); ``plain`` reads a pipe, a file or
``-c CODE``.  Both hand every input to the same shell (``bgshell.shell.repl``).
"""

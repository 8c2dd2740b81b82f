"""The shell, apart from any terminal: the session (``repl``), running code in the
foreground (``evaluate``), the builtins (``commands``; job control in
``jobcontrol``, what they share in ``usage``, paging in ``pager``), a pasted block
run statement by statement (``pastes``), how a job is shown in a line
(``joblines``), Tab completion (``completion``), and leaving on a signal or when
the reader goes away (``termination``, ``readergone``).

It drives the engine (``bgshell.engine``) and reads input in its own language
(``bgshell.shell.language``); it never imports prompt_toolkit, which lives only in
the front ends (``bgshell.frontends``).
"""

"""The shell's language, as pure text: what an input is (``classify``), where a
trailing ``&`` is (``marker``), builtin arguments as shell words (``words``), job
specs (``jobspec``), cutting a script into inputs (``script``), and a pasted block
into statements (``paste``).

Nothing here imports from the rest of bgshell: the vocabulary it needs (builtin
names, job kinds) is handed in as a ``Grammar``.
"""

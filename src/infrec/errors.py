"""The one exception type users see: a one-line message naming the file/row/key and the fix.

Every entry point ends on an :class:`InfrecError` (and on an operating-system failure such as a
full disk, turned into one) with the line ``error: <message>`` on stderr and the exit status
:data:`USER_ERROR_EXIT`, never a traceback.
"""

USER_ERROR_EXIT = 2
"""Exit status of a run refused for its input or configuration (``argparse`` uses 2 as well)."""


class InfrecError(ValueError):
    """Bad input or configuration, raised before heavy work starts."""


def fail(e: BaseException) -> SystemExit:
    """The ``SystemExit`` an entry point raises for a user error: one line, status 2."""
    import sys

    print(f"error: {e}", file=sys.stderr)
    return SystemExit(USER_ERROR_EXIT)

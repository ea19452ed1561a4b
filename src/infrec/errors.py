"""The one exception type users see: a one-line message naming the file/row/key and the fix."""


class InfrecError(ValueError):
    """Bad input or configuration, raised before heavy work starts."""

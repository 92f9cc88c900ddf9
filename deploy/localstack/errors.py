"""The one error type of the stack tooling."""


class StackError(Exception):
    """A failure to report to the user in one clear message (no traceback)."""

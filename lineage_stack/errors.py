"""Errors of the local stack; each message says what went wrong and what to do."""


class StackError(RuntimeError):
    """The stack could not be started, stopped or inspected."""

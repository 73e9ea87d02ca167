"""Errors that end a command with a one-line message instead of a traceback."""


class CkptlintError(Exception):
    """A user-facing problem (bad path, bad config, bad argument). Exit code 2."""

    exit_code = 2

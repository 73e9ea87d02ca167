"""Errors that end a command with a one-line message instead of a traceback."""


class CkptlintError(Exception):
    """A user-facing problem (bad path, bad config, bad argument). Exit code 2."""

    exit_code = 2


class InternalError(CkptlintError):
    """ckptlint itself failed (a bug, not the user's input): still one line and exit code 2, so CI never
    reads a crash as "findings" (1) or "clean" (0). `--verbose` prints the traceback."""

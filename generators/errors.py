"""Errors the user sees as one line: what is wrong, and how to fix it."""


class DecnetError(Exception):
    """Base of every error that is reported as one line, never as a traceback."""


class ConfigError(DecnetError):
    """The YAML config is malformed or inconsistent."""


class StateError(DecnetError):
    """The state file is unreadable, corrupt or of an unknown version."""

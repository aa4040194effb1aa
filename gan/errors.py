"""Errors a user can cause. `gan.run` prints their message alone, without a traceback."""


class GanError(Exception):
    """A problem with the user's config, data or run that the message explains how to fix."""


class ConfigError(GanError, ValueError):
    """A config value that cannot work."""


class DataError(GanError, FileNotFoundError):
    """Data that is missing or unreadable."""


class NonFiniteLossError(GanError, FloatingPointError):
    """A loss became NaN or infinite; the run stops and keeps its last good checkpoint."""

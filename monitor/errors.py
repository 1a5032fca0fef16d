"""The project's exception tree.

    MonitorError
     +-- ConfigError        config.toml or environment is invalid (exit code 2)
     +-- SourceError        one source could not be fetched or parsed
     +-- RuleFileError      a rule or entity file is invalid (names file, line, column)
     +-- StorageError       the database cannot be reached or migrated
     +-- DeliveryError      a digest could not be delivered
          +-- TransientDeliveryError   worth retrying (connection refused, timeout, 4xx)
          +-- PermanentDeliveryError   not worth retrying (5xx)

Third-party errors are wrapped with ``raise ... from`` so the cause is kept.
"""

from __future__ import annotations


class MonitorError(Exception):
    """Base of every error this package raises on purpose."""


class ConfigError(MonitorError):
    """The configuration is invalid; start-up stops with exit code 2."""


class SourceError(MonitorError):
    """One source failed; the others go on. `retry_after` (seconds) is the server's own
    request to come back later (429/503 Retry-After); `status` the HTTP status, if any."""

    def __init__(self, message: str, retry_after: float | None = None, status: int | None = None):
        super().__init__(message)
        self.retry_after = retry_after
        self.status = status


class RuleFileError(MonitorError):
    """A rule or entity file is invalid."""

    def __init__(self, path: str, message: str, line: int | None = None, column: int | None = None):
        self.path = path
        self.line = line
        self.column = column
        self.message = message
        where = path
        if line is not None:
            where += f":{line}"
            if column is not None:
                where += f":{column}"
        super().__init__(f"{where}: {message}")


class StorageError(MonitorError):
    """The database cannot be reached or migrated."""


class DeliveryError(MonitorError):
    """A digest could not be delivered."""


class TransientDeliveryError(DeliveryError):
    """Delivery failed in a way worth retrying later."""


class PermanentDeliveryError(DeliveryError):
    """The server refused the message for good."""

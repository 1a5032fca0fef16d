"""Settings: config.toml, overridden key by key by MONITOR_<SECTION>__<KEY> environment variables.

Nothing is built at import time: call `load_settings()`. Relative paths in the file are
taken relative to the directory that holds the config file, so the daemon behaves the
same whatever directory it is started from.
"""

from __future__ import annotations

import os
import re
import tomllib
from datetime import time
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, TomlConfigSettingsSource

from monitor.errors import ConfigError

DEFAULT_CONFIG = "config.toml"
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseSettings(_Section):
    url: str = ""  # empty: SQLite file monitor.sqlite3 in [paths] data


class SmtpSettings(_Section):
    host: str = ""  # empty: digests are written to <data>/outbox/ as .eml files
    port: int = Field(default=587, ge=1, le=65535)
    username: str = ""
    password: SecretStr = SecretStr("")
    security: Literal["none", "starttls", "tls"] = "starttls"
    sender: str = "Media Monitor <monitor@localhost>"
    timeout_seconds: float = Field(default=30.0, gt=0)
    # A PEM file of CA certificates to trust instead of the system's (a private CA, or tests).
    ca_file: Path | None = None


class PathSettings(_Section):
    data: Path = Path("var")
    templates: Path = Path("templates")


class RulesSettings(_Section):
    path: Path = Path("rules")


class IngestSettings(_Section):
    interval_minutes: float = Field(default=30, gt=0)
    # How long an instance may hold a source or digest it is working on; a dead instance's
    # leases expire after this and others take the work over.
    lease_minutes: float = Field(default=5, gt=0)


class LogSettings(_Section):
    format: Literal["text", "json"] = "text"


class HttpSettings(_Section):
    """The optional listener for /healthz and /metrics (Prometheus)."""

    enabled: bool = False
    address: str = "127.0.0.1"
    port: int = Field(default=9108, ge=0, le=65535)


class RetentionSettings(_Section):
    articles_days: int = Field(default=90, ge=1)  # articles (and their matches) first seen before are pruned
    digests_days: int = Field(default=365, ge=1)  # delivery records; never shorter than articles_days


class SourceSettings(_Section):
    name: str = Field(min_length=1)
    kind: Literal["directory", "rss"]
    path: Path | None = None  # for kind = "directory"
    url: str | None = None  # for kind = "rss"
    interval_minutes: float | None = Field(default=None, gt=0)
    language: str | None = None
    tags: tuple[str, ...] = ()

    @field_validator("url")
    @classmethod
    def _http_only(cls, url: str | None) -> str | None:
        if url is not None and not re.match(r"(?i)^https?://", url):
            raise ValueError("only http:// and https:// feed URLs are allowed")
        return url


class RecipientSettings(_Section):
    name: str = Field(min_length=1)
    address: str
    timezone: str = "UTC"
    digest_time: time = time(8, 0)
    schedule: Literal["daily", "weekdays", "weekly"] = "daily"  # weekdays: Monday to Friday
    weekday: Literal[WEEKDAYS] = "monday"  # the day of a weekly digest
    rules: tuple[str, ...] = ()  # empty: every rule
    max_stories: int = Field(default=30, ge=1)
    send_empty: bool = False
    min_score: float = Field(default=0.0, ge=0)  # a match must score at least this (and its rule's threshold)

    @field_validator("address")
    @classmethod
    def _looks_like_address(cls, address: str) -> str:
        if not re.fullmatch(r"[^@\s<>]+@[^@\s<>]+", address):
            raise ValueError(f"not an email address: {address!r}")
        return address

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, zone: str) -> str:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {zone!r}") from exc
        return zone

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="MONITOR_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    database: DatabaseSettings = DatabaseSettings()
    smtp: SmtpSettings = SmtpSettings()
    paths: PathSettings = PathSettings()
    rules: RulesSettings = RulesSettings()
    ingest: IngestSettings = IngestSettings()
    log: LogSettings = LogSettings()
    http: HttpSettings = HttpSettings()
    retention: RetentionSettings = RetentionSettings()
    sources: tuple[SourceSettings, ...] = ()
    recipients: tuple[RecipientSettings, ...] = ()
    config_file: Path = Path(DEFAULT_CONFIG)

    @property
    def base_dir(self) -> Path:
        return self.config_file.resolve().parent

    def resolve(self, path: Path) -> Path:
        """A path from the config, relative to the config file's folder."""
        return path if path.is_absolute() else self.base_dir / path

    @property
    def data_dir(self) -> Path:
        return self.resolve(self.paths.data)

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"

    @property
    def templates_dir(self) -> Path:
        return self.resolve(self.paths.templates)

    @property
    def rules_dir(self) -> Path:
        return self.resolve(self.rules.path)

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite:///{self.data_dir / 'monitor.sqlite3'}"


def config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    return Path(explicit or os.environ.get("MONITOR_CONFIG") or DEFAULT_CONFIG)


def load_settings(path: str | os.PathLike[str] | None = None) -> Settings:
    """Read and validate the settings; any problem becomes one ConfigError naming key and file."""
    file = config_path(path)
    if not file.is_file():
        raise ConfigError(f"{file}: configuration file not found (set MONITOR_CONFIG or create it)")
    try:
        tomllib.loads(file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: invalid TOML: {exc}") from exc

    class _FromFile(Settings):
        @classmethod
        def settings_customise_sources(
            cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings
        ):
            return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=file))

    try:
        loaded = _FromFile(config_file=file)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, file)) from None
    settings = Settings.model_validate(loaded.model_dump())
    _check_consistency(settings, file)
    return settings


def _describe(exc: ValidationError, file: Path) -> str:
    lines = []
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"])
        env = "MONITOR_" + "__".join(str(p).upper() for p in error["loc"] if not isinstance(p, int))
        message = "unknown key" if error["type"] == "extra_forbidden" else error["msg"]
        lines.append(f"{file}: {key}: {message} (from the file or {env})")
    return "\n".join(lines)


def _check_consistency(settings: Settings, file: Path) -> None:
    names = [s.name for s in settings.sources]
    for name in {n for n in names if names.count(n) > 1}:
        raise ConfigError(f"{file}: sources: the name {name!r} is used twice")
    for index, source in enumerate(settings.sources):
        needed = "path" if source.kind == "directory" else "url"
        if getattr(source, needed) is None:
            raise ConfigError(f"{file}: sources.{index}.{needed}: required for kind = {source.kind!r}")
    recipients = [r.name for r in settings.recipients]
    for name in {n for n in recipients if recipients.count(n) > 1}:
        raise ConfigError(f"{file}: recipients: the name {name!r} is used twice")

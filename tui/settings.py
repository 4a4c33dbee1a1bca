"""Settings: defaults < config TOML < `TRIAGE_*` env vars < command-line flags.

The config file is `config.toml` in the platform config dir, or `--config` / `TRIAGE_CONFIG`.
With no config file, triage runs the demo source against a demo database and says so.
Every error names the file, line and field: `config.toml:12: sources.0.path: Field required`.
"""

from __future__ import annotations

import getpass
import os
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import platformdirs
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from playbooks.tomlfile import LocatedError, TomlFileError, locate, read, validation_errors
from sources import registry
from sources.contract import Source
from sources.http import HttpUrl, Secret
from tui.query import Context, QueryError, compile_query

APP = "triage"
# The config file's contents for the Settings() call in progress (pydantic-settings builds its
# sources in a classmethod, so this is how a per-call file reaches it).
_FILE_DATA: ContextVar[dict[str, Any] | None] = ContextVar("triage_file_settings", default=None)


class ConfigError(Exception):
    """Settings cannot be used; `str()` is one located line per problem."""

    def __init__(self, errors: list[LocatedError] | str) -> None:
        lines = [str(e) for e in errors] if isinstance(errors, list) else [errors]
        super().__init__("\n".join(lines))


def config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP))


def data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP))


def default_actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers): still log someone
        return "responder"


UserPath = Annotated[Path, AfterValidator(Path.expanduser)]  # "~/x" means the home directory


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PlaybookSettings(_Table):
    dirs: list[UserPath] = Field(default=[], description="Directories or files of playbook TOML.")
    bundled: bool = Field(default=True, description="Also load the bundled playbooks.")


class ViewSettings(_Table):
    name: str = Field(min_length=1)
    query: str = Field(default="", description="e.g. 'status:new priority:urgent sort:oldest'.")

    @field_validator("query")
    @classmethod
    def _valid_query(cls, query: str) -> str:
        now = datetime.now(UTC)
        try:
            compile_query(query, Context(me="me", now=now, today=now))
        except QueryError as exc:
            raise ValueError(f"{exc} in {query!r}") from None
        return query


class TeamSettings(_Table):
    """Where an escalation to this team (or a playbook's `notify`) is delivered: exactly one
    of a JSON webhook, a Slack-compatible incoming webhook, or a command."""

    webhook: HttpUrl | None = Field(default=None, description="POSTed the decision as JSON.")
    slack: Secret | None = Field(default=None, description="Slack incoming-webhook URL (secret).")
    command: list[str] | None = Field(
        default=None, min_length=1, description="Run with the decision as JSON on stdin."
    )
    secret: Secret | None = Field(
        default=None, description="HMAC-SHA256 key: signs webhook bodies (X-Triage-Signature)."
    )
    per_minute: int = Field(default=30, gt=0, description="Most deliveries a minute.")
    dry_run: bool = Field(default=False, description="Record deliveries, never send them.")

    @model_validator(mode="after")
    def _one_target(self) -> TeamSettings:
        given = [k for k in ("webhook", "slack", "command") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of webhook, slack, command")
        return self

    @property
    def channel(self) -> str:
        return "webhook" if self.webhook else "slack" if self.slack else "command"


class OutboxSettings(_Table):
    dry_run: bool = Field(
        default=False, description="Record every reply and escalation, send none (demo: on)."
    )
    max_attempts: int = Field(default=8, gt=0, description="Then the delivery is 'failed'.")
    deadline: float = Field(default=20.0, gt=0, description="Seconds one attempt may take.")
    confirm_first: bool = Field(
        default=True, description="Ask before the first live send of each desk session."
    )


DEFAULT_VIEWS = [
    ViewSettings(name="Inbox", query="status:new"),
    ViewSettings(name="Urgent", query="status:new priority:urgent,high sort:due"),
    ViewSettings(name="Escalated", query="status:escalated sort:oldest"),
    ViewSettings(name="Mine", query="assignee:me -status:done,dismissed"),
    ViewSettings(name="Snoozed", query="status:snoozed sort:snoozed"),
    ViewSettings(name="Done today", query="decided:today -status:new,snoozed sort:newest"),
    ViewSettings(name="All", query="sort:newest"),
]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TRIAGE_", env_nested_delimiter="__", extra="forbid", validate_default=True
    )

    actor: str = Field(
        default_factory=default_actor, min_length=1, description="Logged on decisions."
    )
    db: UserPath = Field(default_factory=lambda: data_dir() / "triage.db")
    sources: list[dict[str, Any]] = Field(default=[], description="[[sources]] tables.")
    playbooks: PlaybookSettings = PlaybookSettings()
    views: list[ViewSettings] = Field(default_factory=lambda: list(DEFAULT_VIEWS), min_length=1)
    keys: dict[str, str] = Field(default={}, description="Binding id -> keys, e.g. accept = 'a'.")
    teams: dict[str, TeamSettings] = Field(default={}, description="Escalation targets by team.")
    outbox: OutboxSettings = OutboxSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        file_settings = InitSettingsSource(settings_cls, init_kwargs=_FILE_DATA.get() or {})
        return init_settings, env_settings, file_settings


@dataclass(frozen=True)
class Loaded:
    settings: Settings
    config_path: Path | None  # None: no file, running on the embedded default
    demo: bool  # the demo source and database are in use
    sources: list[Source[Any]]
    drill: Path | None = None  # replaying this past incident into a scratch database


@dataclass(frozen=True)
class Drill:
    """`triage --drill FILE --speed N`: a past incident as a live stream, for rehearsal."""

    path: Path
    speed: float | None = 10.0


DEMO_SOURCE: dict[str, Any] = {"name": "demo", "type": "demo"}


def load(
    config: Path | None = None,
    *,
    db: Path | None = None,
    actor: str | None = None,
    demo: bool = False,
    drill: Drill | None = None,
) -> Loaded:
    """Resolve the settings and build the configured sources, or raise ConfigError."""
    path = config or _env_path() or config_dir() / "config.toml"
    explicit = config is not None or _env_path() is not None
    data, text = _read(path, must_exist=explicit)
    overrides: dict[str, Any] = {}
    if db is not None:
        overrides["db"] = db
    if actor is not None:
        overrides["actor"] = actor
    token = _FILE_DATA.set(data)
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(validation_errors(path, text or "", exc)) from None
    finally:
        _FILE_DATA.reset(token)
    _check_views(settings, path, text)
    if drill is not None:
        settings = _drill_settings(settings, drill, db)
        return Loaded(
            settings,
            path if text else None,
            False,
            _build_sources(settings, path, None),
            drill.path,
        )
    use_demo = demo or not text or not settings.sources
    if use_demo:
        # The demo never writes into a real database unless --db asks for it.
        own_db = "db" in data or "TRIAGE_DB" in os.environ
        update: dict[str, Any] = {"sources": [DEMO_SOURCE]}
        # Nothing leaves a demo: its replies and escalations are recorded, never sent.
        update["outbox"] = settings.outbox.model_copy(update={"dry_run": True})
        if db is None and (demo or not own_db):
            update["db"] = data_dir() / "demo.db"
        settings = settings.model_copy(update=update)
    return Loaded(settings, path if text else None, use_demo, _build_sources(settings, path, text))


def _drill_settings(settings: Settings, drill: Drill, db: Path | None) -> Settings:
    """The incident file as the only source, re-timed to now, into a scratch database (or
    --db); nothing is sent anywhere, whatever the config says."""
    if not drill.path.is_file():
        raise ConfigError(f"{drill.path}: no such drill file")
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    source: dict[str, Any] = {
        "name": "drill",
        "type": "jsonl",
        "path": str(drill.path),
        "retime": True,
    }
    if drill.speed:
        source["speed"] = drill.speed
    return settings.model_copy(
        update={
            "sources": [source],
            "db": db or data_dir() / "drills" / f"{drill.path.stem}-{stamp}.db",
            "outbox": settings.outbox.model_copy(update={"dry_run": True}),
        }
    )


def _env_path() -> Path | None:
    value = os.environ.get("TRIAGE_CONFIG")
    return Path(value) if value else None


def _read(path: Path, *, must_exist: bool) -> tuple[dict[str, Any], str | None]:
    if not path.exists():
        if must_exist:
            raise ConfigError(f"{path}: no such config file")
        return {}, None
    try:
        return read(path)
    except TomlFileError as exc:
        raise ConfigError(exc.errors) from None


def _check_views(settings: Settings, path: Path, text: str | None) -> None:
    """Two tabs of one name could not be told apart (nor picked)."""
    names: set[str] = set()
    for index, view in enumerate(settings.views):
        if view.name in names:
            raise ConfigError([_duplicate(path, text, "views", index, view.name)])
        names.add(view.name)


def _duplicate(path: Path, text: str | None, table: str, index: int, name: str) -> LocatedError:
    """`[[sources]]` or `[[views]]` number `index` reuses an earlier one's name."""
    line = locate(text, (table, index, "name")) if text else None
    return LocatedError(
        path, line, f"{table}.{index}.name", f"duplicate {table[:-1]} name {name!r}"
    )


def _build_sources(settings: Settings, path: Path, text: str | None) -> list[Source[Any]]:
    built, errors, names = [], [], set()
    for index, table in enumerate(settings.sources):
        try:
            source = registry.build(table)
        except registry.SourceError as exc:
            for loc, message in exc.problems:
                full = ("sources", index, *loc)
                line = locate(text, full) if text else None
                errors.append(LocatedError(path, line, ".".join(map(str, full)), message))
            continue
        if source.name in names:
            errors.append(_duplicate(path, text, "sources", index, source.name))
            continue
        names.add(source.name)
        built.append(source)
    if errors:
        raise ConfigError(errors)
    return built

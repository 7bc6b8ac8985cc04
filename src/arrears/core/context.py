"""The application context: one engine, one key ring, one clock — built once, passed down."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from arrears.core.clock import Clock, utc_now
from arrears.core.db import make_engine, session_factory
from arrears.core.settings import Settings, get_settings
from arrears.security.pii import KeyRing, load_or_create


@dataclass
class AppContext:
    database_url: str
    key_file: Path
    clock: Clock = utc_now
    settings: Settings = field(default_factory=get_settings)

    @classmethod
    def from_settings(cls, database_url: str | None = None, settings: Settings | None = None) -> AppContext:
        s = settings or get_settings()
        return cls(database_url=database_url or s.database_url, key_file=s.key_file, settings=s)

    @cached_property
    def engine(self) -> Engine:
        return make_engine(self.database_url)

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        return session_factory(self.engine)

    @cached_property
    def keys(self) -> KeyRing:
        return load_or_create(self.key_file)

    def dispose(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()

"""Database engine, sessions and the declarative base."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

import anyio
from sqlalchemy import DateTime, MetaData, String, TypeDecorator, event
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from server.files import private_sqlite_file

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both SQLite and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def new_uuid() -> str:
    return str(uuid.uuid4())


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


class IdMixin:
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


@dataclass(frozen=True, slots=True)
class PoolSizing:
    """The connection pool of one process (``PPA_DB_POOL_*``, see docs/operations.md)."""

    size: int = 10
    overflow: int = 20
    timeout: float = 30.0
    """Seconds a checkout waits for a free connection before failing."""
    queued: int = 4
    """Connections the queued work (:meth:`Database.queued`) holds at once, at most."""


def create_engine(url: str, pool: PoolSizing | None = None) -> AsyncEngine:
    pool = pool or PoolSizing()
    sizing: dict[str, Any] = {
        "pool_size": pool.size,
        "max_overflow": pool.overflow,
        "pool_timeout": pool.timeout,
    }
    if url.startswith("sqlite"):
        private_sqlite_file(url)
        database = make_url(url).database
        if not database or database == ":memory:" or database.startswith("file:"):
            sizing = {}  # in memory: one shared connection (StaticPool), not a QueuePool
        engine = create_async_engine(url, connect_args={"timeout": 30}, **sizing)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    else:
        engine = create_async_engine(url, pool_pre_ping=True, **sizing)
    return engine


class Database:
    """Holds the engine and session factory for the running app."""

    def __init__(self, url: str, pool: PoolSizing | None = None) -> None:
        self.url = url
        pool = pool or PoolSizing()
        self.engine = create_engine(url, pool)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        self._turns = anyio.Semaphore(max(1, min(pool.queued, pool.size + pool.overflow)))
        """First come, first served: the work of :meth:`queued` waits here for its turn, for
        as long as it takes, instead of in the pool's checkout (which fails after its
        timeout)."""

    @asynccontextmanager
    async def queued(self) -> AsyncIterator[None]:
        """Hold one of the few turns of bursty background work (a collaboration join's
        authorisation and audit, a room load, a live write's audit trace): a thousand clients
        joining at once wait their turn here, never fail on an exhausted pool, and leave the
        rest of the pool to the HTTP requests."""
        async with self._turns:
            yield

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.sessionmaker() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session for scripts: committed on normal exit, rolled back on error."""
        async with self.sessionmaker() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    async def dispose(self) -> None:
        await self.engine.dispose()

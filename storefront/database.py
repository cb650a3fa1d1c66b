"""One engine (a connection pool) per app, one session per request, closed at teardown."""

from __future__ import annotations

from flask import Flask, current_app, g
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from config import DatabaseSettings
from syncd.db import make_engine, make_session_factory

_EXTENSION = "onec_sync_db"


class Database:
    def __init__(self, settings: DatabaseSettings) -> None:
        self.engine: Engine = make_engine(settings)
        self.sessions: sessionmaker[Session] = make_session_factory(self.engine)

    @property
    def is_postgresql(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def init_app(self, app: Flask) -> None:
        app.extensions[_EXTENSION] = self
        app.teardown_appcontext(_close_session)


def database() -> Database:
    db: Database = current_app.extensions[_EXTENSION]
    return db


def session() -> Session:
    """This request's session; reads need no commit, writers commit explicitly."""
    if "db_session" not in g:
        g.db_session = database().sessions()
    result: Session = g.db_session
    return result


def _close_session(_exc: BaseException | None) -> None:
    db_session: Session | None = g.pop("db_session", None)
    if db_session is not None:
        db_session.close()

"""A fresh PostgreSQL database per peer on 127.0.0.1:5432 (trust auth, user postgres), dropped after."""

from __future__ import annotations

import psycopg

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def dsn(name: str) -> str:
    return f"postgresql://postgres@127.0.0.1:5432/{name}"


def fresh(name: str) -> str:
    """Drop `name` if a past run left it, create it empty; returns its DSN."""
    drop(name)
    with psycopg.connect(ADMIN, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    return dsn(name)


def drop(name: str) -> None:
    with psycopg.connect(ADMIN, autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

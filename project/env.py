"""The environment, read in one place (HackSoftware's config/env.py): `.env` and the file `make run`
writes (var/run.env) fill in what the process environment does not set."""

from __future__ import annotations

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
# The container image sets READ_DOT_ENV=0: there the environment is the only source.
if env.bool("READ_DOT_ENV", default=True):
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)
# `make run` writes its choices (broker, local AWS, DEBUG) here, so `manage.py` beside it agrees.
if env.bool("READ_DOT_ENV", default=True):
    environ.Env.read_env(VAR_DIR / "run.env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)

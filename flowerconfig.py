"""Flower reads this file from its working directory: it never starts without a login.

The login itself comes from FLOWER_BASIC_AUTH ("user:password[,user2:password2]"), which Flower
reads from the environment; `make run` generates one, docker-compose passes it through.
"""

import os

if not (os.environ.get("FLOWER_BASIC_AUTH") or os.environ.get("FLOWER_AUTH")):
    raise SystemExit("Flower needs a login: set FLOWER_BASIC_AUTH=user:password")

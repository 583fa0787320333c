"""Local AWS for `make run`: a moto server on loopback with this project's queues created."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
    if not endpoint.startswith("http://127.0.0.1"):
        print("aws: AWS_ENDPOINT_URL is not a local moto endpoint; nothing to run")
        while True:
            time.sleep(3600)
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=urlparse(endpoint).port or 5055)
    server.start()
    print(f"aws: moto listening at {endpoint}", flush=True)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    import django
    from django.core.management import call_command, get_commands

    django.setup()
    for command in ("setup_ses_events", "setup_invoice_queues"):
        if command in get_commands():
            call_command(command)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()

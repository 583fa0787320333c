"""Run the benchmarks and print one JSON object per figure."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import traceback

from bench import PARTS, STUDIES


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--only", choices=PARTS + STUDIES, help="run one part")
    ns = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    failed = 0
    for part in [ns.only] if ns.only else PARTS:
        try:
            module = importlib.import_module(f"bench.{part}")
        except ModuleNotFoundError as exc:
            if exc.name == f"bench.{part}":
                print(f"# bench part {part!r} not written yet", file=sys.stderr)
                continue
            raise
        try:
            for figure in module.run():
                print(json.dumps(figure), flush=True)
        except Exception:
            failed += 1
            traceback.print_exc()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Build the `jobs` wheel into dist/: stage ../../jobs beside this pyproject.toml in a scratch
directory (no caches, no tests), then `pip wheel` it. Usage: python packaging/jobs/build.py [dist]"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def build(out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="jobs-dist-") as tmp:
        stage = Path(tmp)
        shutil.copy(HERE / "pyproject.toml", stage)
        shutil.copy(HERE / "README.md", stage)
        shutil.copytree(ROOT / "jobs", stage / "jobs", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        before = set(out.glob("*.whl"))
        subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(stage)],
            check=True,
        )
    made = sorted(set(out.glob("django_celery_jobs-*.whl")) - before) or sorted(
        out.glob("django_celery_jobs-*.whl")
    )
    return made[-1]


if __name__ == "__main__":
    print(build(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "dist"))

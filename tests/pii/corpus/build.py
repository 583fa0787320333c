"""Turn source.txt ([[TYPE|value]] markup) into corpus.jsonl (text + exact spans).

.venv/bin/python tests/pii/corpus/build.py   (also adds tests/pii/corpus/specs.py's examples)
"""

from __future__ import annotations

import json
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
MARK = re.compile(r"\[\[([A-Z_]+)\|(.*?)\]\]")


def parse(line: str) -> dict:
    line = line.replace("\\n", "\n")
    text, spans, pos = [], [], 0
    out_len = 0
    for m in MARK.finditer(line):
        plain = line[pos : m.start()]
        text.append(plain)
        out_len += len(plain)
        value = m.group(2)
        spans.append({"type": m.group(1), "start": out_len, "end": out_len + len(value)})
        text.append(value)
        out_len += len(value)
        pos = m.end()
    text.append(line[pos:])
    return {"text": "".join(text), "spans": spans}


def build() -> list[dict]:
    """source.txt's hand-written lines, then the examples derived from the specifications."""
    from tests.pii.corpus.specs import rows as spec_rows

    rows = []
    for line in (HERE / "source.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            rows.append(parse(line))
    rows.extend(parse(line) for line in spec_rows())
    return rows


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(HERE.parents[2]))
    rows = build()
    with open(HERE / "corpus.jsonl", "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{len(rows)} examples")

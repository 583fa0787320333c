"""PII detector: throughput on Slack-sized messages and exact-span quality on our corpus.

Figures: pii.mb_per_s, pii.us_per_msg (CPU time on one core, 20k messages: 90% everyday chat
with times, versions, links and mentions, 10% drawn from the PII corpus and its hard negatives),
pii.f1_min (the lowest per-type exact-span F1) and pii.<type>.{precision,recall,f1}.
The detector needs no Django, database or network, so nothing is set up.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

from bench.common import figure, median_of

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "pii" / "corpus" / "corpus.jsonl"
CHAT = [
    "ok, sounds good 👍",
    "Can you take a look at the PR when you have a minute?",
    "Standup moved to 10:30 tomorrow, same room.",
    "lol",
    "Deployed 2.14.1 to staging, smoke tests pass",
    "<@U024BE7LH> can you review <#C0123|eng-backend>?",
    "Thanks!! 🙏",
    "The build is red again, looks like the flaky test in test_payments.py",
    "brb lunch",
    "We hit 1,234 signups this week, up 12% from last week.",
    "Who owns the billing dashboard?",
    "Meeting notes are in the doc: https://docs.example.com/d/abc123/edit?usp=sharing",
    "Retro at 4pm. Bring ideas 🎉",
    "Jira PROJ-4521 is blocked on the API change",
    "Spotkanie przeniesione na czwartek o 14:00.",
    "Bitte bis Freitag Feedback geben, danke!",
    "明日の会議は10時からです。",
    "Привет, посмотри, пожалуйста, задачу 4521",
    "Quick update on the migration: the first two batches went through overnight without "
    "errors, the third one is running now and should finish around 11. I'll post numbers in "
    "the thread once it's done. If anything looks off in the dashboards, ping me here.",
    "Incident recap: between 14:02 and 14:37 UTC the checkout service returned 502s for about "
    "8% of requests. Root cause was a bad config push (connection pool size set to 5). Rolled "
    "back at 14:35, postmortem doc to follow by Thursday.",
    "Hey folks, reminder that the office is closed on Monday for the holiday. Deploy freeze "
    "starts Friday at 16:00, so please get your changes merged before then 🙏",
    "Ich habe die Präsentation überarbeitet und die Zahlen aus Q3 ergänzt. Könnt ihr bitte bis "
    "morgen Mittag drüberschauen? Danke!",
    "Przypominam o jutrzejszym demo o 15:30. Proszę przygotować krótkie podsumowanie postępów "
    "z ostatniego sprintu.",
]


def _messages(n: int, rows: list[dict]) -> list[str]:
    rnd = random.Random(42)
    texts = [r["text"] for r in rows]
    return [rnd.choice(texts) if rnd.random() < 0.1 else rnd.choice(CHAT) for _ in range(n)]


def run() -> list[dict]:
    from pii.detector import BuiltinDetector
    from pii.evaluation import load, score

    rows = load(CORPUS)
    detector = BuiltinDetector()
    msgs = _messages(20_000, rows)
    size_mb = sum(len(m.encode()) for m in msgs) / 1e6
    for m in msgs[:2000]:  # warm caches (phone validation is memoised per number)
        detector.detect(m)

    def once() -> float:
        # CPU time of this thread: on a shared machine wall time mostly measures the neighbours.
        t0 = time.thread_time()
        for m in msgs:
            detector.detect(m)
        return time.thread_time() - t0

    elapsed = median_of(5, once)
    quality = score(rows, detector.detect)
    figures = [
        figure("pii.mb_per_s", size_mb / elapsed, "MB/s"),
        figure("pii.us_per_msg", elapsed / len(msgs) * 1e6, "us"),
        figure("pii.f1_min", min(q["f1"] for q in quality.values()), "f1"),
    ]
    for t, q in quality.items():
        for k in ("precision", "recall", "f1"):
            figures.append(figure(f"pii.{t.lower()}.{k}", q[k], k))
    figures.append(figure("pii.corpus_examples", len(rows), "examples"))
    return figures

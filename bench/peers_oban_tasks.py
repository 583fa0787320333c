"""(f) The oban-py no-op worker (imported only by the oban side, which runs on Python 3.12+).

A `@worker` class, not `@job`: in oban 0.7 a `@job` function's `enqueue()` passes its args dict
positionally to its own signature-bound `new()`, which a no-argument function refuses.
"""

from oban import worker


@worker(queue="bench")
class Noop:
    async def process(self, job) -> None:
        """A no-op: completion is the row in state completed."""


@worker(queue="bench")
class Latency:
    async def process(self, job) -> None:
        """Prints enqueue → body start (s) for its driver (bench/peers_oban_side.py `latency`)."""
        import time

        print(f"lat {time.time() - job.args['sent_at']}", flush=True)

"""(f) oban-py on the same PostgreSQL: the side that imports oban (Python 3.12+, see bench/peers_oban.py).

`python -m bench.peers_oban_side round DSN N BATCH LIMIT` prints one JSON object: enqueue (one job per
`enqueue`), enqueue_many (batches of BATCH), and drain with one and with two worker processes, each
worker an `Oban(queues={"bench": LIMIT})` subprocess that starts only when told, so its start-up is
not drain time. `... worker DSN LIMIT` is that worker.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time

import orjson
from oban import Oban, schema
from psycopg.types.json import set_json_dumps, set_json_loads

from bench.common import processes_stop

try:  # what `oban start` runs on (bench figures should match the CLI's)
    from uvloop import run as _run
except ImportError:
    from asyncio import run as _run


async def _pool(dsn: str, size: int = 10):
    from psycopg_pool import AsyncConnectionPool

    pool = AsyncConnectionPool(dsn, min_size=1, max_size=size, open=False)
    await pool.open()
    return pool


async def _worker(dsn: str, limit: int) -> None:
    import bench.peers_oban_tasks  # noqa: F401 - registers the worker

    pool = await _pool(dsn)
    oban = Oban(pool=pool, queues={"bench": limit})
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    print("ready", flush=True)
    await loop.run_in_executor(None, sys.stdin.readline)
    async with oban:
        await stop.wait()
    await pool.close()


async def _count(pool, where: str) -> int:
    async with pool.connection() as conn:
        cur = await conn.execute(f"SELECT count(*) FROM oban_jobs WHERE {where}")
        return (await cur.fetchone())[0]


async def _wait(pool, where: str, n: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while await _count(pool, where) < n:
        if time.monotonic() > deadline:
            raise TimeoutError(f"oban: {where} did not reach {n} in {timeout:.0f} s")
        await asyncio.sleep(0.05)


async def _drain(pool, dsn: str, n: int, procs: int, limit: int) -> float:
    cmd = [sys.executable, "-m", "bench.peers_oban_side", "worker", dsn, str(limit)]
    workers = [
        subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) for _ in range(procs)
    ]
    try:
        for w in workers:
            if w.stdout.readline().strip() != "ready":
                raise RuntimeError("oban worker did not start")
        async with pool.connection() as conn:
            await conn.execute("ANALYZE oban_jobs")  # as autovacuum would after a burst
        started = time.perf_counter()
        for w in workers:
            w.stdin.write("go\n")
            w.stdin.flush()
        await _wait(pool, "state = 'completed'", n, 900)
        return n / (time.perf_counter() - started)
    finally:
        processes_stop(workers)


async def _round(dsn: str, n: int, batch: int, limit: int) -> dict[str, float]:
    from bench.peers_oban_tasks import Noop

    pool = await _pool(dsn)
    client = Oban(pool=pool)  # client mode: no queues, enqueues only
    out: dict[str, float] = {}
    async with pool.connection() as conn:
        if not (await (await conn.execute("SELECT to_regclass('oban_jobs')")).fetchone())[0]:
            await schema.install(pool)
    try:
        await _truncate(pool)
        started = time.perf_counter()
        for _ in range(n):
            await Noop.enqueue()
        out["enqueue"] = n / (time.perf_counter() - started)
        out["drain_1"] = await _drain(pool, dsn, n, 1, limit)

        await _truncate(pool)
        started = time.perf_counter()
        for i in range(0, n, batch):
            await client.enqueue_many([Noop.new() for _ in range(min(batch, n - i))])
        out["enqueue_many"] = n / (time.perf_counter() - started)
        out["drain_2"] = await _drain(pool, dsn, n, 2, limit)
        await _truncate(pool)
    finally:
        await pool.close()
    return out


async def _latency(dsn: str, n: int, limit: int, gap: float) -> list[float]:
    """Enqueue → body start (ms) of n single jobs, one at a time, on one idle worker process."""
    from bench.peers_oban_tasks import Latency

    pool = await _pool(dsn)
    Oban(pool=pool)  # client mode: enqueues only
    cmd = [sys.executable, "-m", "bench.peers_oban_side", "worker", dsn, str(limit)]
    w = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    out: list[float] = []
    loop = asyncio.get_running_loop()
    try:
        async with pool.connection() as conn:
            if not (await (await conn.execute("SELECT to_regclass('oban_jobs')")).fetchone())[0]:
                await schema.install(pool)
        await _truncate(pool)
        if w.stdout.readline().strip() != "ready":
            raise RuntimeError("oban worker did not start")
        w.stdin.write("go\n")
        w.stdin.flush()
        await asyncio.sleep(1.0)  # started and idle
        for _ in range(n):
            await Latency.enqueue({"sent_at": time.time()})
            line = await asyncio.wait_for(loop.run_in_executor(None, w.stdout.readline), 60)
            out.append(1000 * float(line.split()[1]))
            await asyncio.sleep(gap)
        await _truncate(pool)
    finally:
        w.terminate()
        w.wait(30)
        await pool.close()
    return out


async def _truncate(pool) -> None:
    async with pool.connection() as conn:
        await conn.execute("TRUNCATE oban_jobs")


def main(argv: list[str]) -> None:
    set_json_dumps(orjson.dumps)  # as `oban start` does
    set_json_loads(orjson.loads)
    if argv[0] == "worker":
        _run(_worker(argv[1], int(argv[2])))
    elif argv[0] == "round":
        dsn, n, batch, limit = argv[1], int(argv[2]), int(argv[3]), int(argv[4])
        print(json.dumps(_run(_round(dsn, n, batch, limit))), flush=True)
    elif argv[0] == "latency":
        dsn, n, limit, gap = argv[1], int(argv[2]), int(argv[3]), float(argv[4])
        print(json.dumps(_run(_latency(dsn, n, limit, gap))), flush=True)
    else:
        raise SystemExit(f"usage: {__doc__}")


if __name__ == "__main__":
    main(sys.argv[1:])

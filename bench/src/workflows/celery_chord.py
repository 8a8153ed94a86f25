"""Celery side of the chord bench (bench/src/workflows/chord.ts).

As a module (`celery -A celery_chord worker`): the app and its two tasks, on Redis as broker and result backend.
As a script (`python3 celery_chord.py <members>`): one timed chord, `chord(group(member.s(i) ...))(total.s())`,
from before the group is sent until the callback's result is read back; prints one JSON line.

Celery's defaults except what the bench must set: the broker and result backend, the queue, Kombu's `unacked_key`
per run (the default hash is shared by every Celery app on the database), and results expiring after 10 minutes
(the result keys carry no run token, so the script also forgets what it made).
"""
import json
import os
import sys
import time

import redis
from celery import Celery, chord, group

token = os.environ["BENCH_TOKEN"]
url = os.environ["BENCH_CELERY_REDIS"]
app = Celery("conveyor_chord_bench", broker=url, backend=url)
app.conf.update(
    task_default_queue=os.environ["BENCH_QUEUE"],
    result_expires=600,
    broker_transport_options={
        "unacked_key": f"{token}-unacked",
        "unacked_index_key": f"{token}-unacked_index",
        "unacked_mutex_key": f"{token}-unacked_mutex",
    },
    worker_hijack_root_logger=False,
)
counter = redis.Redis.from_url(url)
CALLBACKS = f"{token}-celery-callbacks"


@app.task(name="bench.member")
def member(n):
    return n * 2


@app.task(name="bench.total")
def total(values):
    counter.incr(CALLBACKS)
    return sum(values)


def run(members):
    # One round trip through the worker first: connections warm, the worker consuming.
    probe = member.delay(1)
    probe.get(timeout=120)
    probe.forget()
    before = int(counter.get(CALLBACKS) or 0)
    started = time.perf_counter()
    cpu = time.process_time()
    result = chord(group(member.s(i) for i in range(members)))(total.s())
    value = result.get(timeout=900)
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu
    time.sleep(0.5)
    callbacks = int(counter.get(CALLBACKS) or 0) - before
    try:
        if result.parent is not None:
            result.parent.forget()
        result.forget()
    except Exception:  # cleanup only; the keys expire anyway
        pass
    print(json.dumps({"seconds": seconds, "cpu": cpu, "value": value, "callbacks": callbacks}), flush=True)


if __name__ == "__main__":
    run(int(sys.argv[1]))

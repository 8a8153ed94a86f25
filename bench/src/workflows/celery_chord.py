"""Celery side of the chord bench (bench/src/workflows/chord.ts).

As a module (`celery -A celery_chord worker`): the app and its two tasks, on Redis as broker and result backend.
As a script (`python3 celery_chord.py <members>`): one timed chord, `chord(group(member.s(i) ...))(total.s())`,
from before the group is sent until the callback's result is read back; prints one JSON line.

Celery's defaults except what the bench must set: the broker and result backend, the queue, Kombu's `unacked_key`
per run (the default hash is shared by every Celery app on the database), and results expiring after 10 minutes
(the result keys carry no run token, so the script also forgets what it made).

Waiting: `result.get(follow_parents=False)`, on the callback alone, as Conveyor's `job.result()` does. With the
default `follow_parents=True` the Redis backend's `get` re-checks the whole 10,000-member parent GroupResult (a GET per
member not yet known done) after every pub/sub reply it drains, and the producer has ~4 replies per member unread (it
SUBSCRIBEs to every member's result channel while sending: celery/celery#3808). When the worker was still behind at
the end of sending, that was ~40,000 sweeps of 10,000 results, minutes at 100% CPU: the round that never returned.
The wait is also sliced: if neither the chord's join set, the queue, the unacked hash nor the callback's state moved
for STALL_S seconds, the script exits 2 saying where the chord stood instead of waiting out the bench's timeout.
"""
import json
import os
import sys
import time

import redis
from celery import Celery, chord, group
from celery.exceptions import TimeoutError as CeleryTimeout

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
QUEUE = os.environ["BENCH_QUEUE"]
# Give up when nothing moved for this long (a loaded machine still finishes a member every few seconds), or after
# DEADLINE_S in all; the bench's own timeout for the script is 900 s.
STALL_S = float(os.environ.get("BENCH_CELERY_STALL_S", "60"))
DEADLINE_S = 840.0
SLICE_S = 5.0


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
    value = wait(result, members, started)
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


def where(result, members):
    """Where the chord stands, read straight from Redis: members joined, messages queued and unacked, callback."""
    group_key = app.backend.get_key_for_group
    join, size = group_key(result.parent.id, ".j"), group_key(result.parent.id, ".s")
    kind = counter.type(join)
    joined = counter.zcard(join) if kind == b"zset" else counter.llen(join) if kind == b"list" else 0
    return {
        # None once the last member has sent the callback (Celery deletes the join and size keys then).
        "joined": joined if counter.exists(size) else None,
        "members": members,
        "queued": counter.llen(QUEUE),
        "unacked": counter.hlen(f"{token}-unacked"),
        "callback": result.state,
    }


def wait(result, members, started):
    """The callback's result, waited for in slices; exit 2 with where the chord stood if it stops moving."""
    last, moved = None, time.perf_counter()
    while True:
        try:
            return result.get(timeout=SLICE_S, follow_parents=False)
        except CeleryTimeout:
            pass
        now = time.perf_counter()
        state = where(result, members)
        if state != last:
            last, moved = state, now
        stalled = now - moved >= STALL_S
        if stalled or now - started >= DEADLINE_S:
            why = f"no progress for {now - moved:.0f} s" if stalled else f"no callback result in {DEADLINE_S:.0f} s"
            print(
                f"[celery_chord] chord {result.parent.id} failed: {why} ({now - started:.0f} s after sending began); "
                f"{state['joined'] if state['joined'] is not None else 'all (join keys gone)'} of {members} members "
                f"joined, {state['queued']} messages queued and {state['unacked']} unacked on {QUEUE}, "
                f"callback {result.id} {state['callback']}",
                file=sys.stderr,
                flush=True,
            )
            sys.exit(2)


if __name__ == "__main__":
    run(int(sys.argv[1]))

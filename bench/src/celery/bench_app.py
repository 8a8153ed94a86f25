"""Celery side of the Celery-format throughput bench (bench/src/celery/main.ts).

Celery's defaults except what the bench must set: the broker, the queue, and Kombu's `unacked_key` per run (the
default `unacked` hash is shared by every Celery app on the database, and the bench reads it to know when the queue
is drained). No result backend, as Celery's default.
"""
import os

from celery import Celery

token = os.environ["BENCH_TOKEN"]
app = Celery("conveyor_bench", broker=os.environ["BENCH_CELERY_BROKER"])
app.conf.update(
    task_default_queue=os.environ["BENCH_QUEUE"],
    broker_transport_options={
        "unacked_key": f"{token}-unacked",
        "unacked_index_key": f"{token}-unacked_index",
        "unacked_mutex_key": f"{token}-unacked_mutex",
    },
    worker_hijack_root_logger=False,
)


@app.task(name="bench.noop")
def noop(n):
    return None

"""The pool (ckptlint/lint/pool.py): a worker that dies or overruns costs its own task, not the run."""

from __future__ import annotations

import time

import pytest

from ckptlint.lint.pool import Pool
from pool_tasks import crashed, overran, work


def _pool(jobs=2, timeout=30.0):
    return Pool(work, crashed, overran, jobs, timeout)


def test_results_come_back_in_task_order():
    tasks = [("square", n) for n in range(50)]
    assert _pool().run(tasks, order=list(reversed(range(50)))) == [n * n for n in range(50)]


@pytest.mark.parametrize("kind, how", [("segfault", "killed by SIGSEGV"), ("exit", "exited with status 3")])
def test_a_dead_worker_is_replaced_and_only_its_task_is_lost(kind, how):
    tasks = [("square", n) for n in range(20)]
    tasks[7] = (kind, None)
    tasks[13] = (kind, None)
    results = _pool().run(tasks)
    assert results[7] == ("crashed", (kind, None), how)
    assert results[13] == ("crashed", (kind, None), how)
    assert [r for i, r in enumerate(results) if i not in (7, 13)] == [n * n for n in range(20) if n not in (7, 13)]


def test_a_task_over_the_budget_is_stopped_and_the_run_goes_on():
    tasks = [("square", n) for n in range(12)]
    tasks[3] = ("sleep", 600)
    start = time.monotonic()
    results = _pool(timeout=2.0).run(tasks)
    assert time.monotonic() - start < 60
    assert results[3] == ("overran", ("sleep", 600), 2.0)
    assert [r for i, r in enumerate(results) if i != 3] == [n * n for n in range(12) if n != 3]


def test_every_task_crashing_still_ends():
    tasks = [("segfault", None)] * 6
    results = _pool().run(tasks)
    assert all(r[0] == "crashed" for r in results)


def test_one_worker_and_more_workers_than_tasks():
    assert _pool(jobs=1).run([("square", 3), ("square", 4)]) == [9, 16]
    assert _pool(jobs=8).run([("square", 5)]) == [25]
    assert _pool().run([]) == []


def test_the_warm_up_is_off_the_clock():
    from pool_tasks import slow_warm_up

    pool = Pool(work, crashed, overran, 2, 1.5, warm_up=slow_warm_up)  # warm-up 1 s, budget 1.5 s per task
    assert pool.run([("sleep", 1.0), ("square", 3), ("sleep", 1.0)]) == ["woke", 9, "woke"]

"""Task functions for tests/test_pool.py, in a module of their own: pool workers import them by name."""

from __future__ import annotations

import os
import signal
import time


def work(task):
    kind, value = task
    if kind == "square":
        return value * value
    if kind == "segfault":
        os.kill(os.getpid(), signal.SIGSEGV)
    if kind == "exit":
        os._exit(3)
    if kind == "sleep":
        time.sleep(value)
        return "woke"
    raise AssertionError(kind)


def crashed(task, how):
    return ("crashed", task, how)


def overran(task, seconds):
    return ("overran", task, seconds)


def slow_warm_up():
    time.sleep(1.0)

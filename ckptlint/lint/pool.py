"""A process pool that knows which task each worker holds, so one task can neither kill nor stall a run.

concurrent.futures' ProcessPoolExecutor cannot do this: when a worker dies (a native crash in a
parser, the out-of-memory killer) every pending future fails with BrokenProcessPool and the whole run is
lost, and a task that never ends cannot be stopped at all. Here each worker gets tasks a few at a time
over its own pipe and answers each one as it finishes, so the parent always knows which task a worker
is on and since when:

- a worker that dies is replaced; the task it was on gets `on_crash(task, how)`, the tasks it had not
  started go to the other workers;
- a task that runs past `timeout` seconds has its worker killed and replaced, and gets
  `on_timeout(task, seconds)`;
- everything else gets `work(task)`, computed in a worker.

Results come back in task order. Workers ignore SIGINT: an interrupt reaches the parent, which stops them.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Callable, Generic, Sequence, TypeVar

T = TypeVar("T")
R = TypeVar("R")

# Tasks sent to a worker at once: enough to keep it busy between two answers, few enough that a killed
# worker's unstarted tasks are cheap to hand to another.
CHUNK = 4
READY = "ready"  # a worker's first message: its imports are done, the clock of its tasks can start


def _context():
    """fork where it is the platform's own choice (Linux: workers start in milliseconds, with what the
    parent imported); spawn elsewhere (macOS and Windows, where fork is unsafe or absent)."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if sys.platform.startswith("linux") and "fork" in methods else "spawn")


def _serve(connection: Connection, work: Callable, warm_up: Callable | None) -> None:
    """A worker: `warm_up()`, then READY; then (index, task) pairs in, (index, result) out, one answer
    per task; None ends it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A worker's crash is reported by the parent in one line; Python's crash dump (PYTHONFAULTHANDLER,
    # or inherited from a test runner) would add a traceback to ckptlint's output.
    import faulthandler

    faulthandler.disable()
    if warm_up is not None:
        warm_up()
    connection.send(READY)
    while True:
        try:
            batch = connection.recv()
        except (EOFError, OSError):
            return
        if batch is None:
            return
        for index, task in batch:
            connection.send((index, work(task)))


@dataclass
class _Worker:
    process: multiprocessing.process.BaseProcess
    connection: Connection
    held: deque = field(default_factory=deque)  # indices sent and not answered, in the order sent
    started: float = field(default_factory=time.monotonic)
    ready: bool = False  # warmed up: from now on the head task's time counts
    since: float = 0.0  # when the task at the head of `held` started (readiness, the previous answer, or the send)


@dataclass
class Pool(Generic[T, R]):
    work: Callable[[T], R]  # a module-level function (spawn pickles it by name)
    on_crash: Callable[[T, str], R]
    on_timeout: Callable[[T, float], R]
    jobs: int
    timeout: float
    # Called once in each worker before its first task, off the clock (importing the parser the tasks
    # need must not count against the first task's time); a module-level function, or None.
    warm_up: Callable[[], None] | None = None
    # Told how many tasks have their result so far, after each batch of answers (a progress line).
    on_progress: Callable[[int], None] | None = None

    def run(self, tasks: Sequence[T], order: Sequence[int] | None = None) -> list[R]:
        """Results for `tasks`, in task order. `order`: the order to start them in (default: as given)."""
        results: dict[int, R] = {}
        queue = deque(range(len(tasks)) if order is None else order)
        context = _context()
        workers: list[_Worker] = []
        try:
            while queue or any(worker.held for worker in workers):
                while len(workers) < min(self.jobs, len(queue) + sum(len(w.held) for w in workers)):
                    workers.append(self._start(context))
                for worker in workers:
                    if queue and len(worker.held) < 2:  # refill before it runs dry
                        self._send(worker, queue, tasks)
                self._wait(workers, tasks, queue, results)
                if self.on_progress is not None:
                    self.on_progress(len(results))
        finally:
            for worker in workers:
                self._stop(worker)
        return [results[index] for index in range(len(tasks))]

    # -- workers --
    def _start(self, context) -> _Worker:
        parent_end, child_end = context.Pipe()
        process = context.Process(target=_serve, args=(child_end, self.work, self.warm_up), daemon=True)
        process.start()
        child_end.close()
        return _Worker(process, parent_end)

    def _send(self, worker: _Worker, queue: deque, tasks: Sequence[T]) -> None:
        batch = [queue.popleft() for _ in range(min(CHUNK, len(queue)))]
        if not worker.held and worker.ready:
            worker.since = time.monotonic()
        worker.held.extend(batch)
        try:
            worker.connection.send([(index, tasks[index]) for index in batch])
        except (OSError, EOFError):
            pass  # the worker is gone: _wait sees its sentinel and hands the tasks on

    def _stop(self, worker: _Worker) -> None:
        try:
            worker.connection.send(None)
        except (OSError, EOFError):
            pass
        worker.process.join(timeout=1)
        if worker.process.is_alive():
            worker.process.kill()
            worker.process.join()
        worker.connection.close()

    def _replace(self, worker: _Worker, workers: list[_Worker], queue: deque) -> None:
        """Drop a dead or killed worker; the tasks it had not started go back to the front of the queue."""
        unstarted = list(worker.held)[1:]
        queue.extendleft(reversed(unstarted))
        worker.held.clear()
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join()
        worker.connection.close()
        workers.remove(worker)

    # -- the loop --
    def _wait(self, workers: list[_Worker], tasks: Sequence[T], queue: deque, results: dict) -> None:
        busy = [w for w in workers if w.held]
        if not busy:
            return
        now = time.monotonic()
        deadline = min(self._deadline(w) for w in busy)
        ready = wait([w.connection for w in busy] + [w.process.sentinel for w in busy], timeout=max(0.0, deadline - now))
        for worker in list(busy):
            alive = self._read_answers(worker, results)
            if not alive or worker.process.sentinel in ready or not worker.process.is_alive():
                # Dead: whatever it answered before dying is in the pipe; read it, then blame the task
                # it was on.
                self._read_answers(worker, results)
                if worker.held:
                    results[worker.held[0]] = self.on_crash(tasks[worker.held[0]], _how(worker.process))
                self._replace(worker, workers, queue)
            elif worker.held and time.monotonic() >= self._deadline(worker):
                if worker.ready:
                    results[worker.held[0]] = self.on_timeout(tasks[worker.held[0]], self.timeout)
                else:
                    results[worker.held[0]] = self.on_crash(tasks[worker.held[0]],
                                                            f"did not start within {self.timeout:g} s")
                self._replace(worker, workers, queue)

    @staticmethod
    def _read_answers(worker: _Worker, results: dict) -> bool:
        """Take every message the worker has sent so far; False when its end of the pipe is closed."""
        try:
            while worker.connection.poll():
                message = worker.connection.recv()
                if message == READY:
                    worker.ready, worker.since = True, time.monotonic()
                    continue
                index, result = message
                results[index] = result
                worker.held.remove(index)
                worker.since = time.monotonic()
        except (EOFError, OSError):
            return False
        return True

    def _deadline(self, worker: _Worker) -> float:
        return (worker.since if worker.ready else worker.started) + self.timeout


def _how(process) -> str:
    """How a worker ended, in words: `killed by SIGSEGV`, `exited with status 3`."""
    process.join(timeout=1)
    code = process.exitcode
    if code is None:
        return "stopped responding"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with status {code}"


def default_jobs() -> int:
    """One worker per core the process may use."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1

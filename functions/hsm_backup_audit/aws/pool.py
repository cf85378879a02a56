"""A bounded pool of daemon threads that stops waiting when the time budget runs out.

Lambda allows 1,024 processes and threads: nothing in a run starts a thread per account
or per region. The threads are daemons, so one stuck in a call when time runs out never
keeps the process alive (concurrent.futures' threads are joined at exit).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")
POLL_SECONDS = 0.2


class Outcome(Generic[Result]):
    """What one item came to: its result, or the exception it raised."""

    __slots__ = ("error", "value")

    def __init__(self, value: Result | None = None, error: BaseException | None = None) -> None:
        self.value = value
        self.error = error


def run_bounded(
    items: Sequence[Item],
    work: Callable[[Item], Result],
    workers: int,
    should_stop: Callable[[], bool],
    name: str,
) -> dict[int, Outcome[Result]]:
    """Run `work` on every item with at most `workers` threads, in order of the items.

    Returns the outcome of each item that finished, by index. Once `should_stop` is true,
    no item is started any more and the calls still running are abandoned: their items
    are missing from the answer, as are the items never started."""
    done: dict[int, Outcome[Result]] = {}
    if not items:
        return done
    todo: queue.SimpleQueue[int] = queue.SimpleQueue()
    for index in range(len(items)):
        todo.put(index)
    finished: queue.Queue[tuple[int, Outcome[Result]]] = queue.Queue()
    gone = threading.Event()  # set when nobody waits any more: the workers take nothing new

    def run() -> None:
        while not gone.is_set() and not should_stop():
            try:
                index = todo.get_nowait()
            except queue.Empty:
                return
            try:
                outcome: Outcome[Result] = Outcome(work(items[index]))
            except Exception as exc:  # noqa: BLE001 - the caller turns it into an entry
                outcome = Outcome(error=exc)
            finished.put((index, outcome))

    count = max(1, min(workers, len(items)))
    threads = [threading.Thread(target=run, name=f"{name}-{n}", daemon=True) for n in range(count)]
    for thread in threads:
        thread.start()
    try:
        while len(done) < len(items):
            try:
                index, outcome = finished.get(timeout=POLL_SECONDS)
            except queue.Empty:
                if should_stop() or not any(thread.is_alive() for thread in threads):
                    break
                continue
            done[index] = outcome
    finally:
        gone.set()
    while True:  # what ended while the loop was leaving still counts
        try:
            index, outcome = finished.get_nowait()
        except queue.Empty:
            break
        done[index] = outcome
    return done

"""The local runner: what AWS event sources do in the cloud, done by polling on one machine.

Each job is a callable run every `interval_s` on a background thread; jobs call the same
handlers/services the Lambda functions call. Other parts register their jobs with `register`
(e.g. the event router reading the table stream, the webhook dispatcher reading its queue).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from voicelane.container import Container
from voicelane.services.clock import now_iso

log = logging.getLogger("voicelane_local.runner")


@dataclass
class Job:
    name: str
    fn: Callable[[], object]
    interval_s: float


JobFactory = Callable[[Container], Job]
_factories: list[JobFactory] = []


def register(factory: JobFactory) -> JobFactory:
    """Add a job to every local runner (a decorator for factory functions)."""
    _factories.append(factory)
    return factory


@register
def scheduled_calls(c: Container) -> Job:
    """EventBridge Scheduler's part locally: queue scheduled calls that are due."""

    def run() -> None:
        for call_id in c.call_repo.due_scheduled(now_iso()):
            c.calls.dispatch_scheduled(call_id)

    return Job("scheduled-calls", run, 0.5)


class LocalRunner:
    def __init__(self, container: Container, jobs: list[Job] | None = None) -> None:
        self.container = container
        self.jobs = jobs if jobs is not None else [f(container) for f in _factories]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> LocalRunner:
        for job in self.jobs:
            t = threading.Thread(target=self._loop, args=(job,), name=f"runner-{job.name}", daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def _loop(self, job: Job) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                job.fn()
            except Exception:  # a failing job must not stop the others; it logs and retries
                log.exception("local job %s failed", job.name)
            self._stop.wait(max(0.0, job.interval_s - (time.monotonic() - started)))

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=5)


@register
def node_sweeper(c: Container) -> Job:
    """The node-sweeper function's part locally: end calls of silent media nodes."""
    return Job("node-sweeper", c.nodes.sweep, 5.0)


@register
def session_expiry(c: Container) -> Job:
    """The node-sweeper function's other part locally: end sessions nobody connected to."""
    return Job("session-expiry", c.sessions.expire_due, 1.0)

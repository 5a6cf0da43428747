"""A time limit on a stretch of one task's work: the whole request body, not each chunk of it."""

from __future__ import annotations

import asyncio
from types import TracebackType

__all__ = ["Deadline"]


class Deadline:
    """Cancel the current task if the ``with`` block has not ended ``seconds`` after it began.

    Used around the reading of a request body, so the limit covers the body as a whole: a
    client that sends one byte just before each pause would run out keeps a request open no
    longer than a client that sends nothing. When the timer fires, leaving the block raises
    ``TimeoutError``; any other cancellation of the task (a server shutting down) passes through
    as ``CancelledError``. What ``asyncio.timeout`` does, with one timer handle and no rescheduling
    (about a third of its cost, which every request pays).
    """

    __slots__ = ("_cancelling", "_fired", "_seconds", "_task", "_timer")

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._fired = False
        self._task: asyncio.Task[object] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._cancelling = 0

    @property
    def seconds(self) -> float:
        """The time limit."""
        return self._seconds

    def __enter__(self) -> Deadline:
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("Deadline must be used inside a task")
        self._task = task
        self._cancelling = task.cancelling()
        self._timer = task.get_loop().call_later(self._seconds, self._expire)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self._timer is not None
        assert self._task is not None
        self._timer.cancel()
        if (
            exc_type is asyncio.CancelledError
            and self._fired
            and self._task.uncancel() <= self._cancelling
        ):
            # Our own cancellation, and nobody else's on top of it: a timeout.
            raise TimeoutError from exc

    def _expire(self) -> None:
        assert self._task is not None
        self._fired = True
        self._task.cancel()

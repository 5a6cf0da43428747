"""The body deadline: one time limit over a stretch of a task's work, told apart from cancels."""

from __future__ import annotations

import asyncio

import pytest

from elsewhere.api._deadline import Deadline


def test_ok_block_that_ends_in_time() -> None:
    """ok/ a block that ends before the limit runs to its end, and the timer is gone after."""

    async def main() -> str:
        with Deadline(5.0):
            await asyncio.sleep(0)
        await asyncio.sleep(0.02)  # a fired timer would cancel this sleep
        return "done"

    assert asyncio.run(main()) == "done"


def test_fail_whole_stretch_over_limit() -> None:
    """fail/ many short waits, each far under the limit, time out once their sum passes it."""
    waits: list[int] = []

    async def main() -> None:
        with Deadline(0.1):
            while True:
                await asyncio.sleep(0.01)
                waits.append(1)

    with pytest.raises(TimeoutError):
        asyncio.run(main())
    assert 3 <= len(waits) < 100


def test_fail_single_wait_over_limit() -> None:
    """fail/ one wait longer than the limit is a TimeoutError."""

    async def main() -> None:
        with Deadline(0.02):
            await asyncio.sleep(3600)

    with pytest.raises(TimeoutError):
        asyncio.run(main())


def test_ok_outside_cancellation_passes_through() -> None:
    """ok/ a cancel from outside (a server shutting down) stays a CancelledError."""

    async def main() -> None:
        async def work() -> None:
            with Deadline(3600):
                await asyncio.sleep(3600)

        task = asyncio.create_task(work())
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())


def test_ok_outside_cancellation_after_the_timer_fired() -> None:
    """ok/ a cancel from outside on top of the deadline's own stays a CancelledError."""

    async def main() -> None:
        async def work() -> None:
            with Deadline(0.01):
                try:
                    await asyncio.sleep(3600)
                finally:
                    asyncio.current_task().cancel()  # type: ignore[union-attr]

        with pytest.raises(asyncio.CancelledError):
            await asyncio.create_task(work())

    asyncio.run(main())


def test_fail_outside_a_task() -> None:
    """fail/ a deadline needs a task to cancel."""
    with pytest.raises(RuntimeError), Deadline(1.0):
        pass


def test_ok_other_errors_pass_through() -> None:
    """ok/ an error raised inside the block is not turned into anything else."""

    async def main() -> None:
        with Deadline(5.0):
            raise KeyError("x")

    with pytest.raises(KeyError):
        asyncio.run(main())

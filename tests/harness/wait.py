"""Polling with a deadline: tests wait for conditions, never for fixed sleeps."""
from __future__ import annotations

import time
from typing import Callable, TypeVar

T = TypeVar("T")


def wait_until(predicate: Callable[[], T], timeout: float = 10.0, interval: float = 0.05,
               message: str = "condition not met") -> T:
    """Call `predicate` until it returns a truthy value and return that value.

    Exceptions raised by the predicate count as "not yet" (a server that is still starting
    refuses connections). On timeout an AssertionError names `message`, the last value and the
    last exception, so a failing test says what it was waiting for and what it saw instead.
    """
    deadline = time.monotonic() + timeout
    last_value: object = None
    last_exc: BaseException | None = None
    attempts = 0
    while True:
        attempts += 1
        try:
            value = predicate()
        except Exception as exc:  # noqa: BLE001 - any failure just means "not ready yet"
            last_exc = exc
        else:
            if value:
                return value
            last_value, last_exc = value, None
        if time.monotonic() >= deadline:
            break
        time.sleep(min(interval, max(0.0, deadline - time.monotonic())))
    detail = f"last value: {last_value!r}"
    if last_exc is not None:
        detail = f"last exception: {type(last_exc).__name__}: {last_exc}"
    raise AssertionError(f"{message} (waited {timeout:g}s, {attempts} attempts; {detail})")

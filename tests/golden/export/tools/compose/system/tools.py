"""Functions the `fns` tool exposes to the agent: each top-level function is an action; its
typed parameters and docstring are what the model is told."""

import datetime


def add(a: float, b: float) -> float:
    """Adds two numbers."""
    return a + b


def days_until(date: str) -> int:
    """Days from today until an ISO date (YYYY-MM-DD); negative when it is past."""
    target = datetime.date.fromisoformat(date)
    return (target - datetime.date.today()).days


def order_status(order_id: str) -> dict:
    """Looks up an order by its id, e.g. "A-1001"."""
    orders = {"A-1001": {"status": "shipped", "carrier": "DHL"}}
    if order_id not in orders:
        raise KeyError(f"no order {order_id}")
    return orders[order_id]


def _helper():
    # Private: not offered to the model.
    return None

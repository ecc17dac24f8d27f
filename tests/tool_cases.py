"""Tools shared by the tool-calling tests: two definitions, their Python functions, a dataset."""

from __future__ import annotations

from typing import Any

import pandas as pd

import workbench as wb

LOOKUP: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "lookup_order",
        "description": "Find an order by id.",
        "parameters": {
            "type": "object",
            "properties": {"order_id": {"type": "string", "description": "The order number."}},
            "required": ["order_id"],
        },
    },
}
REFUND: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "refund",
        "description": "Refund an order.",
        "parameters": {
            "type": "object",
            "properties": {
                "order_id": {"type": "string"},
                "amount": {"type": "number"},
            },
            "required": ["order_id", "amount"],
        },
    },
}

ORDERS = {"42": {"status": "shipped"}, "7": {"status": "lost"}}


def lookup_order(order_id: str) -> dict[str, Any]:
    """Find an order by id.

    Args:
        order_id: The order number.
    """
    if order_id not in ORDERS:
        raise KeyError(f"no order {order_id}")
    return {"order_id": order_id, **ORDERS[order_id]}


def refund(order_id: str, amount: float) -> str:
    """Refund an order."""
    return f"refunded {amount} on {order_id}"


def dataset() -> wb.Dataset:
    return wb.Dataset(
        pd.DataFrame(
            {
                "id": ["r42", "r7", "r13"],
                "message": ["where is order 42", "where is order 7", "where is order 13"],
                "order_id": ["42", "7", "13"],
                "expected_tool": ["lookup_order"] * 3,
            }
        )
    )

"""Readers for what the function prints to stdout: EMF documents and JSON log records."""

from __future__ import annotations

import json
from typing import Any


def printed_json(out: str) -> list[dict[str, Any]]:
    """Every stdout line parsed as JSON: a line that is not JSON fails the test."""
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def emf_documents(out: str) -> list[dict[str, Any]]:
    return [doc for doc in printed_json(out) if "_aws" in doc]


def emf_values(out: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """{(metric name, sorted non-service dimensions): value} over every EMF document."""
    values: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for doc in emf_documents(out):
        for directive in doc["_aws"]["CloudWatchMetrics"]:
            dims = sorted(
                (name, doc[name])
                for dim_set in directive["Dimensions"]
                for name in dim_set
                if name != "service"
            )
            for metric in directive["Metrics"]:
                value = doc[metric["Name"]]
                values[(metric["Name"], tuple(dims))] = (
                    value[0] if isinstance(value, list) else value
                )
    return values


def log_records(out: str) -> list[dict[str, Any]]:
    return [doc for doc in printed_json(out) if "_aws" not in doc and "level" in doc]

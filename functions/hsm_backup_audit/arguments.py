"""What each command-line option takes: argparse `type` checks whose errors name the
option and say what is expected (never a private function's name), one line each."""

from __future__ import annotations

import argparse
import re
import urllib.parse

from .aws.cloudhsm import without_url_credentials
from .constants import (
    EXTERNAL_ID_PATTERN,
    MAX_SECONDS_LIMIT,
    MAX_WORKERS_LIMIT,
    ORGANIZATIONAL_UNIT_PATTERN,
    ROLE_ARN_PATTERN,
    ROLE_NAME_PATTERN,
)
from .engine.model import safe_text


def role_arn(text: str) -> str:
    if not re.fullmatch(ROLE_ARN_PATTERN, text):
        raise argparse.ArgumentTypeError(
            f"not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME): {safe_text(text, 80)!r}"
        )
    return text


def external_id(text: str) -> str:
    if not re.fullmatch(EXTERNAL_ID_PATTERN, text):
        raise argparse.ArgumentTypeError(
            "must be 2 to 1224 characters of letters, digits and _+=,.@:/-"
        )
    return text


def workers(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_WORKERS_LIMIT:
        raise argparse.ArgumentTypeError(
            f"expected a whole number from 1 to {MAX_WORKERS_LIMIT} (got {safe_text(text, 20)!r})"
        )
    return value


def seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value <= MAX_SECONDS_LIMIT:  # also refuses nan and inf
        raise argparse.ArgumentTypeError(
            f"expected a number of seconds above 0, at most {MAX_SECONDS_LIMIT} "
            f"(got {safe_text(text, 20)!r})"
        )
    return value


def endpoint_url(text: str) -> str:
    try:
        parts = urllib.parse.urlsplit(text)
        valid = parts.scheme in {"http", "https"} and bool(parts.hostname) and parts.port != 0
    except ValueError:  # a bad port or bracket: its text would quote the URL
        valid = False
    if not valid:
        shown = safe_text(without_url_credentials(text), 80)
        raise argparse.ArgumentTypeError(f"expected an http:// or https:// URL (got {shown!r})")
    return text


def role_name(text: str) -> str:
    if not re.fullmatch(ROLE_NAME_PATTERN, text):
        raise argparse.ArgumentTypeError(
            f"not an IAM role name (1 to 64 letters, digits and _+=,.@-): {safe_text(text, 80)!r}"
        )
    return text


def organizational_unit(text: str) -> str:
    if not re.fullmatch(ORGANIZATIONAL_UNIT_PATTERN, text):
        raise argparse.ArgumentTypeError(
            f"not an organizational unit id (ou-xxxx-xxxxxxxx): {safe_text(text, 80)!r}"
        )
    return text

"""Every command of the README's and the docs' shell blocks runs as written in a fresh clone:
each program resolves to a make target, a `.venv/bin` entry or a known tool; make settings
reach the CDK CLI as one `-c key=value` each, and from there the app's settings; command
lines parse with the CLI's own parser; `aws` commands name a real operation and options."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import subprocess
from collections.abc import Sequence

import botocore.session
import pytest
from botocore import xform_name

from hsm_backup_audit.arguments import build_parser
from infra.constants import (
    AUDIT_STACK_NAME,
    MEMBER_ROLE_STACK_NAME,
    MEMBER_ROLE_STACK_SET_STACK_NAME,
)
from tests.docs_blocks import ROOT, Command, documented_commands

COMMANDS = documented_commands()
MAKEFILE = (ROOT / "Makefile").read_text()
TARGETS = frozenset(re.findall(r"^([a-z][a-z-]*):", MAKEFILE, flags=re.M))
MAKE_VARIABLES = frozenset(re.findall(r"\$\(([A-Z_]+)\)", MAKEFILE))
SETTING_KEYS = frozenset(json.loads((ROOT / "cdk.json").read_text())["context"])
CDK_TARGETS = frozenset({"synth", "deploy", "bootstrap", "destroy"})
STACKS = frozenset({AUDIT_STACK_NAME, MEMBER_ROLE_STACK_NAME, MEMBER_ROLE_STACK_SET_STACK_NAME})
SHELL_TOOLS = frozenset({"cd", "export", "true", "git"})
AWS_GLOBAL_OPTIONS = frozenset({"--region", "--profile", "--output", "--query", "--endpoint-url"})
# Inline commands the README shows in its prose, `make ...`, are checked as the blocks are.
INLINE_MAKE = re.compile(r"`(make [^`]+)`")


def _inline_make_commands() -> list[Command]:
    text = (ROOT / "README.md").read_text()
    return [Command("README.md (inline)", tuple(shlex.split(m))) for m in INLINE_MAKE.findall(text)]


MAKE_COMMANDS = [c for c in [*COMMANDS, *_inline_make_commands()] if c.words[0] == "make"]


def _id(command: Command) -> str:
    return f"{command.where}: {shlex.join(command.words)}"[:120]


def run_make(*words: str) -> subprocess.CompletedProcess[str]:
    """make as a user runs it (not as a sub-make of `make test`), prerequisites not built."""
    environment = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL")}
    return subprocess.run(
        ["make", "-s", "--no-print-directory", "-o", ".venv/.installed",
         "-o", "node_modules/.installed", *words],
        cwd=ROOT, capture_output=True, text=True, timeout=30, env=environment,
    )  # fmt: skip


def cdk_argv(make_words: Sequence[str]) -> list[str]:
    """What make would hand the CDK CLI for this command line."""
    done = run_make(*make_words[1:], "CDK=printf '%s\\n'")
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def context_of(argv: Sequence[str]) -> dict[str, str]:
    """`-c key=value` pairs, split at the first `=` as the CDK CLI splits them."""
    pairs = [argv[i + 1] for i, word in enumerate(argv[:-1]) if word in ("-c", "--context")]
    return dict(pair.split("=", 1) for pair in pairs)


def test_the_docs_have_commands_to_check() -> None:
    assert len(COMMANDS) > 20
    assert any(c.words[:2] == ("make", "deploy") for c in COMMANDS if c.where.startswith("README"))


@pytest.mark.parametrize("command", COMMANDS, ids=_id)
def test_every_program_resolves(command: Command) -> None:
    program = command.words[0]
    if program == "make" or program == "aws" or program in SHELL_TOOLS:
        return  # checked below, or a shell builtin or tool the README names as needed
    # Then anything else is a program of the project's .venv, named by its path
    assert program.startswith(".venv/bin/"), f"{program}: not in .venv/bin (no bare commands)"
    assert (ROOT / program).is_file(), f"{program} is not installed by `make install`"
    if program.endswith("/python"):
        assert command.words[1] == "-m"
        assert importlib.util.find_spec(command.words[2]) is not None


@pytest.mark.parametrize("command", MAKE_COMMANDS, ids=_id)
def test_every_make_command_names_a_target_and_known_variables(command: Command) -> None:
    targets = [w for w in command.words[1:] if "=" not in w]
    assignments = [w.split("=", 1)[0] for w in command.words[1:] if "=" in w]
    assert targets and set(targets) <= TARGETS
    for name in assignments:
        known = SETTING_KEYS if name[0].islower() else MAKE_VARIABLES
        assert name in known, f"{name}: not a setting nor a variable of the Makefile"


@pytest.mark.parametrize(
    "command", [c for c in MAKE_COMMANDS if c.words[1] in CDK_TARGETS], ids=_id
)
def test_settings_reach_the_cdk_cli_as_written(command: Command) -> None:
    # When make runs the command as documented, with a CDK CLI that prints its arguments
    argv = cdk_argv(command.words)
    # Then the CDK command and stack are the documented ones
    assert argv[0] == command.words[1]
    stack = dict(w.split("=", 1) for w in command.words if "=" in w).get("STACK")
    if command.words[1] in ("deploy", "destroy"):
        assert argv[1] == (stack or AUDIT_STACK_NAME) and argv[1] in STACKS
    # And each setting arrives as one context value, exactly as typed
    settings = dict(w.split("=", 1) for w in command.words[1:] if w[0].islower() and "=" in w)
    assert context_of(argv) == settings


def test_a_schedule_with_spaces_and_parentheses_reaches_the_app_settings() -> None:
    from aws_cdk import App

    from infra.settings import read_settings

    # Given the README's schedule, passed the way the README passes it
    (documented,) = [c for c in MAKE_COMMANDS if any(w.startswith("schedule=") for w in c.words)][
        :1
    ]
    expected = next(w for w in documented.words if w.startswith("schedule=")).split("=", 1)[1]
    assert expected == "cron(0 6 * * ? *)"
    # When make hands it to the CDK CLI, and the CLI to the app as context
    context = context_of(cdk_argv(documented.words))
    settings = read_settings(App(context=context).node)
    # Then the app schedules exactly that expression
    assert settings.schedule == expected


def test_an_unknown_setting_stops_make_with_one_line() -> None:
    done = run_make("deploy", "shedule=rate(1 day)", "CDK=true")
    assert done.returncode != 0
    assert "unknown setting(s): shedule" in done.stderr


@pytest.mark.parametrize(
    "command", [c for c in COMMANDS if c.words[0] == ".venv/bin/hsm-backup-audit"], ids=_id
)
def test_command_lines_parse_with_the_clis_parser(command: Command) -> None:
    # Then the CLI's own parser accepts every option and value as written
    build_parser().parse_args(list(command.words[1:]))


@pytest.mark.parametrize("command", [c for c in COMMANDS if c.words[0] == "aws"], ids=_id)
def test_aws_commands_name_a_real_operation_and_its_options(command: Command) -> None:
    service, operation, *rest = command.words[1:]
    model = botocore.session.get_session().get_service_model(service)
    by_cli_name = {xform_name(name, "-"): name for name in model.operation_names}
    assert operation in by_cli_name, f"aws {service} {operation}: no such operation"
    members = model.operation_model(by_cli_name[operation]).input_shape
    known = {
        xform_name(name, "-"): shape for name, shape in (members.members if members else {}).items()
    }
    for word in rest:
        if not word.startswith("--") or word in AWS_GLOBAL_OPTIONS:
            continue
        name = word[2:]
        negated = name.startswith("no-") and known.get(name[3:]) is not None
        shape = known.get(name[3:] if negated else name)
        assert shape is not None, f"{word}: not an option of aws {service} {operation}"
        assert not negated or shape.type_name == "boolean"


VENV_PROGRAMS = sorted(
    {c.words[0] for c in COMMANDS if c.words[0].startswith(".venv/bin/")} - {".venv/bin/python"}
)


@pytest.mark.parametrize("program", VENV_PROGRAMS)
def test_each_installed_program_starts(program: str) -> None:
    # When the program the docs name is started as a user starts it, asking for its help
    done = subprocess.run(
        [str(ROOT / program), "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    # Then it runs and says how it is used
    assert done.returncode == 0, done.stderr
    assert "usage" in done.stdout.lower()

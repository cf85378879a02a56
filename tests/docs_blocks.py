"""The fenced code blocks of the README and docs/, and the simple commands of their shell
blocks, split as a POSIX shell splits them (quotes, `&&`, `;`, `|`, `&`, redirections)."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")))
SHELL_LANGUAGES = frozenset({"sh", "bash", "shell"})
FENCE = re.compile(r"^\s*```(\S*)\s*$")
OPERATORS = frozenset({"&&", "||", ";", "|", "&"})
REDIRECTIONS = frozenset({">", ">>", "<", "2>", "2>&1"})


@dataclass(frozen=True)
class Block:
    page: Path
    line: int  # of the opening fence, 1-based
    language: str
    text: str

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


@dataclass(frozen=True)
class Command:
    where: str
    words: tuple[str, ...]  # environment assignments and redirections left out


def blocks(pages: tuple[Path, ...] = PAGES) -> list[Block]:
    found: list[Block] = []
    for page in pages:
        language: str | None = None
        start, lines = 0, list[str]()
        for number, line in enumerate(page.read_text().splitlines(), start=1):
            fence = FENCE.match(line)
            if fence and language is None:
                language, start, lines = fence.group(1) or "", number, []
            elif fence:
                found.append(Block(page, start, language or "", "\n".join(lines)))
                language = None
            elif language is not None:
                lines.append(line)
    return found


def _simple_commands(tokens: list[str]) -> list[list[str]]:
    commands: list[list[str]] = [[]]
    skip_next = False
    for token in tokens:
        if skip_next:
            skip_next = False
        elif token in OPERATORS:
            commands.append([])
        elif token in REDIRECTIONS or token.startswith((">", "<")):
            skip_next = token in REDIRECTIONS or token in {">", "<"}
        else:
            commands[-1].append(token)
    return [command for command in commands if command]


def _without_assignments(words: list[str]) -> list[str]:
    while words and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]):
        words = words[1:]
    return words


def shell_commands(block: Block) -> list[Command]:
    commands: list[Command] = []
    for line in block.text.replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|<>")
        lexer.whitespace_split = True
        lexer.commenters = "#"
        for words in map(_without_assignments, _simple_commands(list(lexer))):
            if words:
                commands.append(Command(block.where, tuple(words)))
    return commands


def documented_commands() -> list[Command]:
    return [
        command
        for block in blocks()
        if block.language in SHELL_LANGUAGES
        for command in shell_commands(block)
    ]

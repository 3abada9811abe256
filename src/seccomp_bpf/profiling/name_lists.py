"""The names of ``--allow`` and ``--deny``, as elastic/beats' profiler keeps its lists.

A token is a system call name, a number, an ``@group`` (:mod:`seccomp_bpf.policy.groups`) or
``@FILE``: a list file, one name a line (or several, separated by blanks), ``#`` starting a
comment, blank lines ignored; a line of a file may name a group but no other file. ``@NAME``
is the group when there is one of that name (``@./NAME`` reads the file).

A name may be a system call of any architecture: lists are shared between machines, so a
name the policy's ABIs lack (``chown32`` on x86-64) is ignored there and said once per ABI
(:attr:`NameList.notes`), while a name no ABI has is refused as a typo, naming the file,
line and column it came from.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from seccomp_bpf.arch import Arch, all_arches
from seccomp_bpf.errors import PolicyError
from seccomp_bpf.policy.groups import get_group
from seccomp_bpf.policy.resolution import name_is_on, unknown_name_message
from seccomp_bpf.profiling.trace import SyscallKey


@dataclass(frozen=True)
class _Where:
    """Where a token came from: the command line, or a list file's line and column."""

    file: str | None = None
    line: int | None = None
    column: int | None = None

    def error(self, message: str, token: str) -> PolicyError:
        if self.file is None:
            return PolicyError(message)
        return PolicyError(
            message, source=self.file, line=self.line, column=self.column, snippet=token
        )


@dataclass
class NameList:
    """The calls a list names (in order, each once), and what was ignored where."""

    keys: list[SyscallKey] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def read_list_file(path: str, what: str) -> list[tuple[str, _Where]]:
    """The tokens of a list file with their line and column; :class:`PolicyError` when it
    cannot be read."""
    try:
        with open(path, encoding="utf-8") as file:
            text = file.read()
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else f"not UTF-8 text ({error})"
        raise PolicyError(f"{what} @{path}: cannot read the list: {reason}") from None
    tokens: list[tuple[str, _Where]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        content = line.split("#", 1)[0]
        column = 0
        for token in content.split():
            column = content.index(token, column)
            tokens.append((token, _Where(path, number, column + 1)))
            column += len(token)
    return tokens


def _is_group(token: str) -> bool:
    try:
        get_group(token)
    except PolicyError:
        return False
    return True


def resolve_names(tokens: Iterable[str], arches: Sequence[Arch], what: str) -> NameList:
    """The calls ``tokens`` name for a policy of ``arches`` (``what``: the option, for
    messages); see the module docstring. Raises :class:`PolicyError` for a name no
    architecture has, an unknown group or a list file that cannot be read."""
    result = NameList()
    seen: set[SyscallKey] = set()
    missing: dict[str, list[str]] = {}  # ABI -> the names ignored there

    def add(key: SyscallKey) -> None:
        if key not in seen:
            seen.add(key)
            result.keys.append(key)

    def one(token: str, where: _Where) -> None:
        if token.startswith("@"):
            if where.file is None and not _is_group(token):
                if not os.path.lexists(token[1:]):
                    try:
                        get_group(token)
                    except PolicyError as error:
                        raise PolicyError(
                            f"{what} {token}: no list file {token[1:]!r}, and {error}"
                        ) from None
                for item, at in read_list_file(token[1:], what):
                    one_in_file(item, at)
                return
            try:
                members = get_group(token).members
            except PolicyError as error:
                raise where.error(f"{what} {token}: {error}", token) from None
            for member in members:
                if any(name_is_on(arch, member) for arch in arches):
                    add(member)
        elif token.isdigit():
            add(int(token))
        elif any(name_is_on(arch, token) for arch in arches):
            add(token)
            for arch in arches:
                if not name_is_on(arch, token):
                    missing.setdefault(arch.name, []).append(token)
        elif any(name_is_on(arch, token) for arch in all_arches()):
            for arch in arches:
                missing.setdefault(arch.name, []).append(token)
        else:
            reason = unknown_name_message(token, arches, all_arches())
            raise where.error(f"{what} {token}: {reason}", token)

    def one_in_file(token: str, where: _Where) -> None:
        if token.startswith("@") and not _is_group(token):
            raise where.error(
                f"{what}: {token}: no such group (a list file names calls and groups, "
                "not other files)",
                token,
            )
        one(token, where)

    for token in tokens:
        token = token.strip()
        if token:
            one(token, _Where())
    for abi, names in missing.items():
        unique = list(dict.fromkeys(names))
        result.notes.append(f"{what}: no system call of {abi}, ignored there: {', '.join(unique)}")
    return result


def expand_names(tokens: Iterable[str], arches: Sequence[Arch], what: str) -> list[SyscallKey]:
    """The calls of :func:`resolve_names`, without its notes."""
    return resolve_names(tokens, arches, what).keys

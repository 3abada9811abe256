"""JSON read into nodes that remember where they were written, for errors that point.

The standard ``json`` module gives values without positions. This reader gives every value
its offset (hence line and column) and refuses what ``json.loads`` would silently accept
from a hand-written file: a key given twice (the last would win), ``NaN``/``Infinity``.
Strings are decoded by ``json.decoder.scanstring``, numbers match ``json.scanner.NUMBER_RE``,
so values are exactly what ``json.loads`` gives.
"""

from __future__ import annotations

import json.decoder
import json.scanner
from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn, Union, cast

from seccomp_bpf.errors import PolicyError

JsonValue = Union[dict[str, "JsonNode"], list["JsonNode"], str, int, float, bool, None]  # noqa: UP007

_WHITESPACE = " \t\n\r"
# json.decoder.scanstring(text, end) -> (string, end after the closing quote); not in typeshed.
_scanstring = cast(Callable[[str, int], tuple[str, int]], vars(json.decoder)["scanstring"])
_LITERALS: dict[str, bool | None] = {"true": True, "false": False, "null": None}


@dataclass(frozen=True, slots=True)
class JsonNode:
    """A JSON value and the offset where it starts; objects keep their keys' offsets too."""

    value: JsonValue
    offset: int
    key_offsets: dict[str, int] | None = None

    @property
    def kind(self) -> str:
        """``object``, ``array``, ``string``, ``integer``, ``number``, ``boolean`` or ``null``."""
        value = self.value
        if isinstance(value, dict):
            return "object"
        if isinstance(value, list):
            return "array"
        if isinstance(value, str):
            return "string"
        if isinstance(value, bool):
            return "boolean"
        if isinstance(value, int):
            return "integer"
        if isinstance(value, float):
            return "number"
        return "null"

    def plain(self) -> object:
        """The value as ``json.loads`` would give it."""
        value = self.value
        if isinstance(value, dict):
            return {key: node.plain() for key, node in value.items()}
        if isinstance(value, list):
            return [node.plain() for node in value]
        return value


def line_and_column(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of ``offset`` in ``text``."""
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


class _Parser:
    def __init__(self, text: str, source: str) -> None:
        self.text = text
        self.source = source

    def fail(self, offset: int, message: str) -> NoReturn:
        line, column = line_and_column(self.text, offset)
        snippet = self.text[offset : offset + 20].split("\n", 1)[0] or None
        raise PolicyError(
            f"JSON syntax error: {message}",
            source=self.source,
            line=line,
            column=column,
            snippet=snippet,
        )

    def skip(self, offset: int) -> int:
        text = self.text
        while offset < len(text) and text[offset] in _WHITESPACE:
            offset += 1
        return offset

    def document(self) -> JsonNode:
        offset = self.skip(0)
        if offset == len(self.text):
            self.fail(offset, "the file is empty")
        node, offset = self.value(offset)
        offset = self.skip(offset)
        if offset != len(self.text):
            self.fail(offset, "extra text after the JSON value")
        return node

    def value(self, offset: int) -> tuple[JsonNode, int]:
        text = self.text
        if offset >= len(text):
            self.fail(offset, "unexpected end of the file")
        char = text[offset]
        if char == "{":
            return self.object(offset)
        if char == "[":
            return self.array(offset)
        if char == '"':
            string, end = self.string(offset)
            return JsonNode(string, offset), end
        for word, literal in _LITERALS.items():
            if text.startswith(word, offset):
                return JsonNode(literal, offset), offset + len(word)
        match = json.scanner.NUMBER_RE.match(text, offset)
        if match is not None:
            integer, fraction, exponent = match.groups()
            number: int | float
            if fraction or exponent:
                number = float(integer + (fraction or "") + (exponent or ""))
            else:
                number = int(integer)
            return JsonNode(number, offset), match.end()
        self.fail(offset, "expected a value (object, array, string, number, true, false, null)")

    def string(self, offset: int) -> tuple[str, int]:
        try:
            return _scanstring(self.text, offset + 1)
        except json.JSONDecodeError as error:
            self.fail(error.pos, error.msg)

    def object(self, start: int) -> tuple[JsonNode, int]:
        members: dict[str, JsonNode] = {}
        key_offsets: dict[str, int] = {}
        offset = self.skip(start + 1)
        if self.text.startswith("}", offset):
            return JsonNode(members, start, key_offsets), offset + 1
        while True:
            if not self.text.startswith('"', offset):
                self.fail(offset, "expected a key in double quotes")
            key_offset = offset
            key, offset = self.string(offset)
            if key in members:
                first, _ = line_and_column(self.text, key_offsets[key])
                self.fail(
                    key_offset, f"key {key!r} given twice in one object (first on line {first})"
                )
            offset = self.skip(offset)
            if not self.text.startswith(":", offset):
                self.fail(offset, "expected ':' after the key")
            member, offset = self.value(self.skip(offset + 1))
            members[key] = member
            key_offsets[key] = key_offset
            offset = self.skip(offset)
            if self.text.startswith(",", offset):
                offset = self.skip(offset + 1)
                continue
            if self.text.startswith("}", offset):
                return JsonNode(members, start, key_offsets), offset + 1
            self.fail(offset, "expected ',' or '}'")

    def array(self, start: int) -> tuple[JsonNode, int]:
        items: list[JsonNode] = []
        offset = self.skip(start + 1)
        if self.text.startswith("]", offset):
            return JsonNode(items, start), offset + 1
        while True:
            item, offset = self.value(offset)
            items.append(item)
            offset = self.skip(offset)
            if self.text.startswith(",", offset):
                offset = self.skip(offset + 1)
                continue
            if self.text.startswith("]", offset):
                return JsonNode(items, start), offset + 1
            self.fail(offset, "expected ',' or ']'")


def parse_json(text: str, source: str) -> JsonNode:
    """Parse ``text``; a syntax error is a :class:`PolicyError` naming ``source:line:column``."""
    try:
        return _Parser(text, source).document()
    except RecursionError:
        raise PolicyError("JSON nested too deeply", source=source, line=1, column=1) from None

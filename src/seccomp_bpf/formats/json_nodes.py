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
import re
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn, Union, cast

from seccomp_bpf.errors import PolicyError

JsonValue = Union[dict[str, "JsonNode"], list["JsonNode"], str, int, float, bool, None]  # noqa: UP007

_NEWLINE = re.compile("\n")
_SKIP = re.compile(r"[ \t\n\r]*")
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
    """1-based line and column of ``offset`` in ``text`` (for one lookup; :class:`Lines` for
    many)."""
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


class Lines:
    """Line and column of offsets in one text, each found by bisection over its line starts
    (a reader that places every rule looks up as many offsets as the text has entries)."""

    def __init__(self, text: str) -> None:
        self.starts = [0, *(match.end() for match in _NEWLINE.finditer(text))]

    def __call__(self, offset: int) -> tuple[int, int]:
        index = bisect_right(self.starts, offset) - 1
        return index + 1, offset - self.starts[index] + 1


_skip = _SKIP.match
_number = json.scanner.NUMBER_RE.match
_NUMBER_STARTS = frozenset("-0123456789")


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
        match = _skip(self.text, offset)
        assert match is not None  # [ \t\n\r]* matches everywhere, if only the empty string
        return match.end()

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
        match = _number(text, offset) if char in _NUMBER_STARTS else None
        if match is None:
            for word, literal in _LITERALS.items():
                if text.startswith(word, offset):
                    return JsonNode(literal, offset), offset + len(word)
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


def parse_json(text: str, source: str, *, exact: bool = True) -> JsonNode:
    """Parse ``text``; a syntax error is a :class:`PolicyError` naming ``source:line:column``.

    With ``exact=False`` only the top object and the items of its arrays (a profile's
    ``syscalls`` entries) get their own offsets: each item is read by the standard library's
    C scanner and what lies inside it carries the item's offset. That reads a large profile
    several times faster; anything the exact reader would refuse (a key given twice, ``NaN``)
    raises :class:`ApproximateError`, and a reader that finds a mistake should read again
    exactly to point at it.
    """
    parser: _Parser = _Parser(text, source) if exact else _QuickParser(text, source)
    try:
        return parser.document()
    except RecursionError:
        raise PolicyError("JSON nested too deeply", source=source, line=1, column=1) from None


class ApproximateError(Exception):
    """The quick reading met something only the exact one reports well."""


def _refuse_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise ApproximateError("a key given twice")
    return out


def _refuse_constant(name: str) -> object:
    raise ApproximateError(name)


_STRICT_DECODER = json.decoder.JSONDecoder(
    object_pairs_hook=_refuse_duplicates, parse_constant=_refuse_constant
)


class _QuickParser(_Parser):
    """:class:`_Parser` for the top object and its arrays; their items by the C scanner."""

    depth = 0

    def value(self, offset: int) -> tuple[JsonNode, int]:
        if self.depth < 2:
            self.depth += 1
            try:
                return super().value(offset)
            finally:
                self.depth -= 1
        try:
            plain, end = _STRICT_DECODER.raw_decode(self.text, offset)
        except json.JSONDecodeError as error:
            self.fail(error.pos, error.msg)
        return _nodes(plain, offset), end


def _nodes(plain: object, offset: int) -> JsonNode:
    """``plain`` (what ``json`` gives) as nodes that all carry ``offset``; containers are made
    empty and filled from a stack, whatever the nesting."""
    if not isinstance(plain, (dict, list)):
        return JsonNode(plain, offset)  # type: ignore[arg-type]
    root = _empty(plain, offset)
    stack = [(plain, root.value)]
    while stack:
        item, out = stack.pop()
        if isinstance(item, dict):
            assert isinstance(out, dict)
            for key, child in item.items():
                if isinstance(child, (dict, list)):
                    node = out[key] = _empty(child, offset)
                    stack.append((child, node.value))
                else:
                    out[key] = JsonNode(child, offset)
        else:
            assert isinstance(item, list) and isinstance(out, list)
            for child in item:
                if isinstance(child, (dict, list)):
                    node = _empty(child, offset)
                    out.append(node)
                    stack.append((child, node.value))
                else:
                    out.append(JsonNode(child, offset))
    return root


def _empty(container: dict[str, object] | list[object], offset: int) -> JsonNode:
    if isinstance(container, dict):
        return JsonNode({}, offset, dict.fromkeys(container, offset))
    return JsonNode([], offset)

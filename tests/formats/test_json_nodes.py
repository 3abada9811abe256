"""JSON with positions: the same values as json.loads, and errors that point."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seccomp_bpf.errors import PolicyError
from seccomp_bpf.formats.json_nodes import line_and_column, parse_json

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.text(max_size=8)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=12,
)


@given(JSON_VALUES, st.sampled_from([None, 1, 2]))
def test_values_equal_json_loads(value: object, indent: int | None) -> None:
    text = json.dumps(value, indent=indent)
    assert parse_json(text, "x.json").plain() == json.loads(text)


def test_positions() -> None:
    text = '{\n  "a": [1, {"b": "c"}],\n  "d": null\n}'
    root = parse_json(text, "x.json")
    assert isinstance(root.value, dict) and root.key_offsets is not None
    assert line_and_column(text, root.key_offsets["d"]) == (3, 3)
    items = root.value["a"].value
    assert isinstance(items, list)
    assert line_and_column(text, items[1].offset) == (2, 12)
    assert [node.kind for node in items] == ["integer", "object"]
    assert root.value["d"].kind == "null"


@pytest.mark.parametrize(
    ("text", "line", "column", "phrase"),
    [
        ("", 1, 1, "the file is empty"),
        ('{"a": 1,}', 1, 9, "expected a key"),
        ('{"a" 1}', 1, 6, "expected ':'"),
        ("[1 2]", 1, 4, "expected ',' or ']'"),
        ('{"a": 1, "a": 2}', 1, 10, "given twice"),
        ('{"a": NaN}', 1, 7, "expected a value"),
        ('{"a": "\\q"}', 1, 8, "Invalid \\escape"),
        ('{"a": "open', 1, 7, "Unterminated string"),
        ("[1]\n[2]", 2, 1, "extra text"),
        ("[" * 100000, 1, 1, "nested too deeply"),
    ],
)
def test_syntax_errors(text: str, line: int, column: int, phrase: str) -> None:
    with pytest.raises(PolicyError) as caught:
        parse_json(text, "x.json")
    assert (caught.value.line, caught.value.column) == (line, column)
    assert phrase in caught.value.message

"""Where a pydantic error lands in a YAML document, and how it reads as an issue.

Pydantic locations hold field names, list indices and the tags of tagged unions; they are
walked over the plain data built from the YAML to find the position of the offending value
(or key), and the error type becomes a message in one template: ``must be ..., got ...``.
"""

from __future__ import annotations

import difflib
import types
from collections.abc import Mapping
from typing import Annotated, Any, Protocol, Union, get_args, get_origin

from pydantic import BaseModel

from qsim.scenario._errors import Issue
from qsim.scenario.resolve import render_path
from qsim.scenario.schema import Scenario
from qsim.scenario.schema_types import TAG_ERRORS, UNION_TAGS

__all__ = ["Located", "Positions", "allowed_fields", "issue_of", "show"]

PathT = tuple[Any, ...]
Pos = tuple[int, int]


class Positions(Protocol):
    """Plain data with the 1-based (line, col) of every value and mapping key, by path."""

    data: Any
    values: dict[PathT, Pos]
    keys: dict[PathT, Pos]


def _members(tp: Any) -> list[Any]:
    """The alternatives of a (possibly annotated, optional) type, annotations removed."""
    while get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    if get_origin(tp) in (Union, types.UnionType):
        return [m for arg in get_args(tp) for m in _members(arg)]
    return [tp]


def _step(options: list[Any], el: object) -> list[Any] | None:
    models = [m for m in options if isinstance(m, type) and issubclass(m, BaseModel)]
    if isinstance(el, str):
        for m in models:
            if el in m.model_fields:
                return _members(m.model_fields[el].annotation)
        tagged = [m for m in models if el in {f.default for f in m.model_fields.values()}]
        return tagged or None
    for m in options:
        if get_origin(m) in (tuple, list):
            return _members(get_args(m)[0])
        if get_origin(m) is dict:
            return _members(get_args(m)[1])
    return None


def allowed_fields(root: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Field names of the model at ``loc`` under ``root`` (empty if it cannot be told).

    ``loc`` is a pydantic location: field names, list indices and the tags of tagged
    unions (``("consumers", 0, "service", "lognormal")``).
    """
    options: list[Any] | None = [root]
    for el in loc:
        options = _step(options, el) if options else None
    models = [m for m in options or [] if isinstance(m, type) and issubclass(m, BaseModel)]
    return list(models[0].model_fields) if len(models) == 1 else []


def show(value: object) -> str:
    """A value as an error message quotes it: strings quoted, YAML words for bool and null."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return repr(value)


def _num(x: object) -> str:
    return str(int(x)) if isinstance(x, float) and x.is_integer() else str(x)


_MUST = {
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "int_from_float": "must be an integer",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "finite_number": "must be a finite number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "string_type": "must be a string",
    "list_type": "must be a list",
    "tuple_type": "must be a list",
    "dict_type": "must be a mapping (key: value pairs)",
    "model_type": "must be a mapping (key: value pairs)",
    "model_attributes_type": "must be a mapping (key: value pairs)",
}
_BOUNDS = {
    "greater_than": ">",
    "greater_than_equal": ">=",
    "less_than": "<",
    "less_than_equal": "<=",
}
_BOUND_CTX = {
    "greater_than": "gt",
    "greater_than_equal": "ge",
    "less_than": "lt",
    "less_than_equal": "le",
}


class Located:
    """Where a pydantic location lands in the document."""

    def __init__(self, doc: Positions, loc: PathT) -> None:
        self.path: list[Any] = []
        self.found = True
        self.value: Any = doc.data
        self.pos = doc.values.get((), (1, 1))
        data_path: PathT = ()
        for el in loc:
            cur = self.value
            if not self.found:
                if not (isinstance(el, str) and el in UNION_TAGS):
                    self.path.append(el)
            elif (isinstance(cur, Mapping) and el in cur) or (
                isinstance(cur, list) and isinstance(el, int) and 0 <= el < len(cur)
            ):
                data_path = (*data_path, el)
                self.value, self.pos = cur[el], doc.values[data_path]
                self.path.append(el)
            elif isinstance(el, str) and el in UNION_TAGS:
                continue
            elif el == "[key]" and data_path:
                self.pos, self.value = doc.keys.get(data_path, self.pos), data_path[-1]
            else:
                self.found = False
                self.path.append(el)
        self.key_pos = doc.keys.get(data_path, self.pos)


def _length(value: object) -> int:
    return len(value) if isinstance(value, list | tuple | dict | str) else 0


def issue_of(err: Mapping[str, Any], doc: Positions, file: str | None) -> Issue | None:
    """The issue a pydantic error describes, placed in the document (None: not worth reporting)."""
    typ, ctx = err["type"], err.get("ctx") or {}
    loc: PathT = tuple(err["loc"])
    if typ == "qsim_field":
        loc = (*loc, *ctx["field"])
    tag_key, expected, what = TAG_ERRORS.get(typ, ("", "", ""))
    if tag_key and isinstance(err["input"], Mapping):
        loc = (*loc, tag_key)
    at = Located(doc, loc)
    value = at.value if at.found else err.get("input")
    pos = at.pos
    got = f", got {show(value)}"
    if typ == "missing":
        value, message = None, "is required"
    elif typ == "extra_forbidden":
        pos = at.key_pos
        key = loc[-1]
        allowed = allowed_fields(Scenario, loc[:-1])
        message = f"unknown field {key!r}"
        if allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            message += (
                f" (did you mean {close[0]!r}?)" if close else ""
            ) + f"; allowed: {', '.join(allowed)}"
        if key == "scv" and "scv" not in allowed and "dist" in allowed:
            message += " (for a given scv use dist: gamma, lognormal or hyperexponential)"
        value = key
    elif typ == "qsim_field":
        message = ctx["message"]
    elif typ == "qsim_value":
        message = f"must be {ctx['allowed']}{got}"
    elif tag_key:
        if isinstance(err["input"], Mapping):
            message = f"must be one of {expected}{got}"
        else:
            message = f"must be {what}: a mapping with {tag_key}: one of {expected}{got}"
    elif typ in _BOUNDS:
        message = f"must be {_BOUNDS[typ]} {_num(ctx[_BOUND_CTX[typ]])}{got}"
    elif typ == "literal_error":
        message = f"must be one of {ctx['expected']}{got}"
    elif typ == "too_short" and at.found and _length(at.value) >= ctx["min_length"]:
        return None  # pydantic counts only the valid items; those have their own issues
    elif typ in ("too_short", "too_long"):
        word = "at least" if typ == "too_short" else "at most"
        limit = ctx["min_length" if typ == "too_short" else "max_length"]
        actual = _length(at.value) if at.found else ctx["actual_length"]
        message = f"must have {word} {limit} item{'s' if limit != 1 else ''}, got {actual}"
    elif typ in _MUST:
        message = _MUST[typ] + got
    else:
        msg = str(err["msg"]).removeprefix("Value error, ")
        message = msg[:1].lower() + msg[1:] + got
    return Issue(file, pos[0], pos[1], render_path(tuple(at.path)), value, message)

"""Loading scenario files: safe YAML with positions, every error of a file at once.

The YAML is composed into nodes by :class:`yaml.SafeLoader` and turned into plain data here,
node by node, so that each value keeps its line and column and only plain data can come out:
a tag other than the standard ones (``!!python/object``, ``!include``, ``!!binary``...) is an
error, never a constructed object. Pydantic's error locations are mapped back onto those
positions; schema errors and reference errors (:mod:`qsim.scenario.resolve`) are reported
together, sorted by position, in one :class:`~qsim.scenario._errors.ScenarioError`.

Also: duplicate keys are errors (plain YAML keeps the last silently); top-level keys that
start with ``x-`` are ignored, to hold anchors for shared settings (``x-worker: &worker
{...}`` then ``<<: *worker``); YAML 1.1's base-60 and octal numbers (``14:00``, ``010``)
stay text instead of becoming 840 and 8; a document expanding past 200,000 values through
aliases is refused.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from qsim.scenario._errors import Issue, ScenarioError
from qsim.scenario._locate import Located, issue_of, show
from qsim.scenario.resolve import check_references, render_path
from qsim.scenario.schema import Scenario

__all__ = ["dump_scenario", "load_scenario", "loads"]

PathT = tuple[Any, ...]
Pos = tuple[int, int]

_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {"str", "int", "float", "bool", "null", "timestamp"}
_TOP = "name, duration, producers, brokers, consumers"
_MAX_NODES = 200_000
_YAML11_SURPRISE = re.compile(
    r"[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?|[-+]?0[0-7_]+"
)  # expanded through aliases: stops "billion laughs" documents


class _Problem(Exception):
    def __init__(
        self, mark: yaml.Mark | None, message: str, value: object = None, path: PathT = ()
    ) -> None:
        super().__init__(message)
        self.pos = _pos(mark) if mark is not None else None
        self.message = message
        self.value = value
        self.path = path


class _Document:
    """Plain data built from YAML nodes, with the position of every value and key.

    Problems that leave the rest readable (a forbidden tag, a duplicate key) are collected
    in ``problems``; a recursive alias or a document that explodes through aliases raises.
    """

    def __init__(self, root: yaml.Node) -> None:
        self.values: dict[PathT, Pos] = {}
        self.keys: dict[PathT, Pos] = {}
        self.problems: list[_Problem] = []
        self._constructor = yaml.constructor.SafeConstructor()
        self._active: set[int] = set()
        self._explicit: dict[int, set[int]] = {}
        self._count = 0
        self.data = self._build(root, ())

    def _build(self, node: yaml.Node, path: PathT) -> Any:
        self._count += 1
        if self._count > _MAX_NODES:
            raise _Problem(
                node.start_mark, f"the document expands to more than {_MAX_NODES} values"
            )
        self.values[path] = _pos(node.start_mark)
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node, path)
        short = _short(node.tag)
        expected = "seq" if isinstance(node, yaml.SequenceNode) else "map"
        if short != expected:
            self.problems.append(_Problem(node.start_mark, _bad_tag(node.tag), None, path))
            return None
        if id(node) in self._active:
            raise _Problem(
                node.start_mark, "an alias refers to a value that contains it", None, path
            )
        self._active.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return [self._build(item, (*path, i)) for i, item in enumerate(node.value)]
            return self._mapping(node, path)
        finally:
            self._active.discard(id(node))

    def _scalar(self, node: yaml.ScalarNode, path: PathT) -> Any:
        short = _short(node.tag)
        if short not in _SCALAR_TAGS:
            self.problems.append(_Problem(node.start_mark, _bad_tag(node.tag), node.value, path))
            return None
        if short in ("str", "timestamp"):
            return node.value
        if (
            short in ("int", "float")
            and node.style is None
            and _YAML11_SURPRISE.fullmatch(node.value)
        ):
            # NOTE: YAML 1.1 reads 14:00 as 840 (base 60) and 010 as 8 (octal); people mean
            # a time of day or ten. Kept as text, the schema then says what is allowed.
            return node.value
        try:
            return getattr(self._constructor, f"construct_yaml_{short}")(node)
        except (ValueError, KeyError, yaml.YAMLError):
            message = f"{node.value!r} is not a valid {short}"
            self.problems.append(_Problem(node.start_mark, message, node.value, path))
            return None

    def _mapping(self, node: yaml.MappingNode, path: PathT) -> dict[Any, Any]:
        if id(node) not in self._explicit:  # an alias visits a node again, already flattened
            self._explicit[id(node)] = {id(k) for k, _ in node.value if k.tag != _TAG + "merge"}
            try:
                self._constructor.flatten_mapping(node)  # resolves `<<: *defaults` merge keys
            except yaml.MarkedYAMLError as exc:
                raise _Problem(exc.problem_mark, str(exc.problem), None, path) from None
        explicit = self._explicit[id(node)]
        out: dict[Any, Any] = {}
        first: dict[Any, yaml.Node] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                message = "a key must be a plain name or number"
                self.problems.append(_Problem(key_node.start_mark, message, None, path))
                continue
            key = self._scalar(key_node, path)
            if key in first and id(key_node) in explicit and id(first[key]) in explicit:
                line = first[key].start_mark.line + 1
                message = f"duplicate key {key!r} (first given on line {line})"
                self.problems.append(_Problem(key_node.start_mark, message, key, (*path, key)))
            first[key] = key_node
            self.keys[(*path, key)] = _pos(key_node.start_mark)
            out[key] = self._build(value_node, (*path, key))
        return out


def _pos(mark: yaml.Mark) -> Pos:
    return (mark.line + 1, mark.column + 1)


def _short(tag: str | None) -> str | None:
    return tag.removeprefix(_TAG) if tag and tag.startswith(_TAG) else None


def _bad_tag(tag: str | None) -> str:
    short = _short(tag)
    shown = f"!!{short}" if short is not None else str(tag)
    return (
        f"tag {shown} is not allowed: scenario files hold plain data "
        "(mappings, lists, strings, numbers, true/false, null)"
    )


# -- public API ---------------------------------------------------------------------------


def _validate(text: str, name: str, base_dir: Path | None) -> Scenario:
    try:
        loader = yaml.SafeLoader(text)
        try:
            root = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = " ".join(p for p in (exc.context, exc.problem) if p)
        if "block" in problem or "mapping values are not allowed" in problem:
            problem += " (check the indentation)"
        line, col = (mark.line + 1, mark.column + 1) if mark else (None, None)
        raise ScenarioError(
            [Issue(name, line, col, "", None, f"YAML syntax: {problem}")], source=name
        ) from None
    except yaml.YAMLError as exc:  # e.g. a control character in the text
        raise ScenarioError(
            [Issue(name, None, None, "", None, f"YAML: {exc}")], source=name
        ) from None
    if root is None:
        message = f"the file is empty: a scenario is a mapping with {_TOP}"
        raise ScenarioError([Issue(name, 1, 1, "", None, message)], source=name)
    try:
        doc = _Document(root)
    except _Problem as p:
        line, col = p.pos or (None, None)
        issue = Issue(name, line, col, render_path(p.path), p.value, p.message)
        raise ScenarioError([issue], source=name) from None
    if doc.problems:
        issues = [
            Issue(name, *(p.pos or (None, None)), render_path(p.path), p.value, p.message)
            for p in doc.problems
        ]
        raise ScenarioError(issues, source=name)
    if not isinstance(doc.data, dict):
        message = f"a scenario must be a mapping with {_TOP}, got {show(doc.data)}"
        raise ScenarioError([Issue(name, 1, 1, "", doc.data, message)], source=name)
    data = {k: v for k, v in doc.data.items() if not (isinstance(k, str) and k.startswith("x-"))}
    issues: list[Issue] = []
    scenario = None
    context = {"skip_references": True, "base_dir": str(base_dir) if base_dir is not None else None}
    try:
        scenario = Scenario.model_validate(data, context=context)
    except ValidationError as exc:
        found = (issue_of(err, doc, name) for err in exc.errors(include_url=False))
        issues.extend(issue for issue in found if issue is not None)
    for p in check_references(data):
        pos = Located(doc, p.path).pos
        issues.append(Issue(name, pos[0], pos[1], p.where, p.value, p.message))
    if issues or scenario is None:
        issues.sort(key=lambda i: (i.line or 0, i.col or 0))
        raise ScenarioError(issues, source=name)
    return scenario


def loads(
    text: str, name: str = "<string>", *, base_dir: str | os.PathLike[str] | None = None
) -> Scenario:
    """A scenario from YAML text.

    Parameters
    ----------
    text : str
        The YAML document.
    name : str
        How to call the text in error messages (a file name, ``"<cell 3>"``).
    base_dir : path, optional
        Folder that relative trace paths are read from; default: the current directory.

    Raises
    ------
    ScenarioError
        Listing every problem with its line, column, field path and value.
    """
    return _validate(text, name, Path(base_dir).resolve() if base_dir is not None else None)


def load_scenario(path: str | os.PathLike[str]) -> Scenario:
    """A scenario from a YAML file; relative trace paths are read from the file's folder.

    Raises
    ------
    ScenarioError
        Listing every problem of the file with its line, column, field path and value
        (or that the file cannot be read).
    """
    name = os.fspath(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ScenarioError(
            [Issue(name, None, None, "", name, f"cannot read the file: {reason}")], source=name
        ) from None
    return _validate(text, name, Path(path).resolve().parent)


class _Dumper(yaml.SafeDumper):
    """Writes small all-scalar mappings and lists on one line: ``{dist: lognormal, mean: 50ms}``."""

    def represent_dict(self, data: Any) -> yaml.MappingNode:  # type: ignore[override]
        node = super().represent_dict(data)
        node.flow_style = len(data) <= 6 and all(_leaf(v) for v in data.values())
        return node

    def represent_list(self, data: Any) -> yaml.SequenceNode:  # type: ignore[override]
        node = super().represent_list(data)
        node.flow_style = all(_leaf(v) for v in data)
        return node


def _leaf(value: object) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


_Dumper.add_representer(dict, _Dumper.represent_dict)
_Dumper.add_representer(list, _Dumper.represent_list)


def dump_scenario(scenario: Scenario, path: str | os.PathLike[str] | None = None) -> str:
    """The scenario as YAML text with units (``50ms``, ``120/s``), leaving out defaults.

    Loading the text again gives an equal scenario. With ``path``, the text is also written
    there, and trace paths are written relative to that file's folder.
    """
    data = scenario.model_dump(mode="json", exclude_defaults=True)
    if path is not None:
        folder = Path(path).resolve().parent
        for producer in data.get("producers", []):
            arrival = producer.get("arrival")
            if isinstance(arrival, dict) and arrival.get("process") == "trace":
                arrival["path"] = os.path.relpath(Path(arrival["path"]).resolve(), folder)
    text = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    if path is not None:
        Path(path).write_text(text, encoding="utf-8")
    return text

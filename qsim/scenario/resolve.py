"""Checks across objects (names, references, cycles) and the resolved routing graph.

:func:`check_references` works on plain data, the parsed YAML or ``Scenario.model_dump()``,
and tolerates anything malformed (that is the schema's business), so that a file with a
schema error still gets its reference errors reported in the same pass. :func:`resolve`
turns a valid :class:`~qsim.scenario.schema.Scenario` into a :class:`Graph` the engines read:
which broker hosts each destination, where a published message lands, who consumes what.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from qsim.scenario._errors import Issue, ScenarioError

if TYPE_CHECKING:
    from qsim.scenario.schema import Broker, Consumer, Exchange, Producer, Queue, Scenario, Topic

__all__ = ["Destination", "Graph", "Problem", "check_references", "resolve", "topic_matches"]

Path = tuple[str | int, ...]
_KINDS = {"queues": "queue", "exchanges": "exchange", "topics": "topic"}
_PLURAL = {"queue": "queues", "exchange": "exchanges", "topic": "topics"}


@dataclass(frozen=True)
class Problem:
    """One finding: where (a data path), the offending value, and what is wrong."""

    path: Path
    value: object
    message: str

    @property
    def where(self) -> str:
        """The path written as ``consumers[0].queue``."""
        return render_path(self.path)


def render_path(path: Path) -> str:
    """``("consumers", 0, "queue") -> "consumers[0].queue"``."""
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def topic_matches(pattern: str, key: str) -> bool:
    """Whether a topic-exchange binding ``pattern`` matches a routing ``key``.

    Words are separated by ``.``; ``*`` matches exactly one word, ``#`` zero or more.

    >>> topic_matches("order.*.eu", "order.created.eu"), topic_matches("order.#", "order")
    (True, True)
    >>> topic_matches("*.eu", "order.created.eu")
    False
    """

    def match(p: list[str], k: list[str]) -> bool:
        if not p:
            return not k
        if p[0] == "#":
            return any(match(p[1:], k[i:]) for i in range(len(k) + 1))
        return bool(k) and (p[0] in ("*", k[0])) and match(p[1:], k[1:])

    return match(pattern.split("."), key.split("."))


# -- tolerant access to plain data -------------------------------------------------------


def _items(data: object, key: str) -> Iterator[tuple[int, Mapping[str, Any]]]:
    seq = data.get(key) if isinstance(data, Mapping) else None
    if isinstance(seq, list | tuple):
        for i, item in enumerate(seq):
            if isinstance(item, Mapping):
                yield i, item


def _str(data: object, key: str) -> str | None:
    value = data.get(key) if isinstance(data, Mapping) else None
    return value if isinstance(value, str) else None


@dataclass
class _Dest:
    kind: str
    path: Path
    data: Mapping[str, Any]


@dataclass
class _Checker:
    data: Mapping[str, Any]
    problems: list[Problem] = field(default_factory=list)
    dests: dict[str, _Dest] = field(default_factory=dict)
    complete: bool = True  # every destination list and name could be read

    def add(self, path: Path, value: object, message: str) -> None:
        self.problems.append(Problem(path, value, message))

    def unique(self, kind: str, path: Path, name: str | None, seen: dict[str, Path]) -> None:
        if name is None:
            return
        if name in seen:
            self.add(
                path,
                name,
                f"duplicate {kind} name {name!r}, already used by {render_path(seen[name])}",
            )
        else:
            seen[name] = path

    def ref(self, path: Path, name: object, wanted: tuple[str, ...]) -> _Dest | None:
        """The destination ``name`` refers to, or None after recording why it is wrong."""
        if not isinstance(name, str):
            return None
        dest = self.dests.get(name)
        if dest is not None and dest.kind in wanted:
            return dest
        if dest is not None:
            allowed = " or ".join(_a(w) for w in wanted)
            self.add(path, name, f"{name!r} is {_a(dest.kind)}, but this must name {allowed}")
            return None
        if not self.complete:
            return None  # some destination lists are malformed: the schema reports those
        present = [k for k in wanted if any(d.kind == k for d in self.dests.values())]
        kinds = present or list(wanted)
        noun = _either(kinds)
        plural = _either([_PLURAL[k] for k in kinds], "and")
        known = [
            f"{n!r}" + ("" if len(kinds) == 1 else f" ({d.kind})")
            for n, d in self.dests.items()
            if d.kind in kinds
        ]
        none = _either([_PLURAL[k] for k in kinds])
        listing = (
            f", known {plural}: {', '.join(known)}" if known else f": the scenario has no {none}"
        )
        self.add(path, name, f"unknown {noun} {name!r}{listing}")
        return None


def _a(noun: str) -> str:
    return f"an {noun}" if noun[0] in "aeiou" else f"a {noun}"


def _either(words: list[str], joiner: str = "or") -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} {joiner} {words[-1]}"


def check_references(data: Mapping[str, Any]) -> list[Problem]:
    """Every cross-object problem of a scenario given as plain data.

    Checks unique names (producers, brokers, consumers; destinations across all brokers),
    that every ``to:``, ``queue:``, ``topic:``, ``publish_to:``, ``dead_letter:`` and
    binding names an existing destination of the right kind, routing keys against
    exchange types and bindings, one declaration per consumer group and topic, and that
    neither dead-letter chains nor ``publish_to`` pipelines form a cycle.
    """
    c = _Checker(data)
    for kind in ("producers", "brokers", "consumers"):
        seen: dict[str, Path] = {}
        for i, item in _items(data, kind):
            c.unique(kind[:-1], (kind, i, "name"), _str(item, "name"), seen)
    seen_dest: dict[str, Path] = {}
    c.complete = _readable(data.get("brokers"))
    for b, broker in _items(data, "brokers"):
        for key, kind in _KINDS.items():
            c.complete = c.complete and _readable(broker.get(key, ()), named=True)
            for i, item in _items(broker, key):
                name, path = _str(item, "name"), ("brokers", b, key, i)
                c.unique("destination", (*path, "name"), name, seen_dest)
                if name is not None and name not in c.dests:
                    c.dests[name] = _Dest(kind, path, item)
    _check_brokers(c)
    _check_producers(c)
    _check_consumers(c)
    _check_result_names(c)
    _check_cycles(c)
    return c.problems


def _readable(seq: object, *, named: bool = False) -> bool:
    """A list of mappings (each with a string name, if ``named``)."""
    return isinstance(seq, list | tuple) and all(
        isinstance(item, Mapping) and (not named or isinstance(item.get("name"), str))
        for item in seq
    )


def _bound_queue(binding: object) -> object:
    return binding.get("queue") if isinstance(binding, Mapping) else binding


def _check_brokers(c: _Checker) -> None:
    for b, broker in _items(c.data, "brokers"):
        for i, q in _items(broker, "queues"):
            if "dead_letter" in q and q["dead_letter"] is not None:
                c.ref(
                    ("brokers", b, "queues", i, "dead_letter"),
                    q["dead_letter"],
                    ("queue", "exchange"),
                )
        for i, ex in _items(broker, "exchanges"):
            bindings = ex.get("bindings")
            seen: set[str] = set()
            for j, binding in enumerate(bindings if isinstance(bindings, list | tuple) else ()):
                queue = _bound_queue(binding)
                path: Path = ("brokers", b, "exchanges", i, "bindings", j)
                path = (*path, "queue") if isinstance(binding, Mapping) else path
                c.ref(path, queue, ("queue",))
                key = (queue, binding.get("key") if isinstance(binding, Mapping) else None)
                if isinstance(queue, str) and repr(key) in seen:
                    c.add(path, queue, f"queue {queue!r} is bound twice with the same key")
                seen.add(repr(key))


def _check_producers(c: _Checker) -> None:
    for i, p in _items(c.data, "producers"):
        dest = c.ref(("producers", i, "to"), p.get("to"), ("queue", "exchange", "topic"))
        if dest is None:
            continue
        key = p.get("routing_key")
        xtype = dest.data.get("type", "fanout") if dest.kind == "exchange" else None
        if xtype in ("direct", "topic"):
            if key is None:
                c.add(
                    ("producers", i, "routing_key"),
                    None,
                    f"is required: {p['to']!r} is a {xtype} exchange",
                )
            elif isinstance(key, str) and not any(
                _binding_matches(xtype, binding, key) for binding in dest.data.get("bindings") or ()
            ):
                c.add(
                    ("producers", i, "routing_key"),
                    key,
                    f"{key!r} matches no binding of exchange "
                    f"{p['to']!r}: every message would be dropped",
                )
        elif key is not None:
            what = f"a {xtype} exchange" if xtype else _a(dest.kind)
            c.add(
                ("producers", i, "routing_key"),
                key,
                f"only applies to direct and topic exchanges, and {p['to']!r} is {what}",
            )


def _binding_matches(xtype: str, binding: object, key: str) -> bool:
    pattern = binding.get("key") if isinstance(binding, Mapping) else None
    if not isinstance(pattern, str):
        return False
    return pattern == key if xtype == "direct" else topic_matches(pattern, key)


def _check_consumers(c: _Checker) -> None:
    groups: dict[tuple[str, str], int] = {}
    for i, con in _items(c.data, "consumers"):
        if con.get("queue") is not None:
            c.ref(("consumers", i, "queue"), con.get("queue"), ("queue",))
        if con.get("topic") is not None and c.ref(
            ("consumers", i, "topic"), con.get("topic"), ("topic",)
        ):
            group = con.get("group") or con.get("name")
            if isinstance(group, str) and (con["topic"], group) in groups:
                first = groups[(con["topic"], group)]
                c.add(
                    ("consumers", i, "group" if con.get("group") else "topic"),
                    group,
                    f"group {group!r} on topic {con['topic']!r} is already declared by "
                    f"consumers[{first}]: raise its instances instead",
                )
            elif isinstance(group, str):
                groups[(con["topic"], group)] = i
        publish = con.get("publish_to")
        targets = [publish] if isinstance(publish, str) else publish
        for j, target in enumerate(targets if isinstance(targets, list | tuple) else ()):
            path: Path = (
                ("consumers", i, "publish_to")
                if isinstance(publish, str)
                else ("consumers", i, "publish_to", j)
            )
            c.ref(path, target, ("queue", "exchange", "topic"))
        retry = con.get("retry")
        if isinstance(retry, Mapping) and retry.get("dead_letter") is not None:
            c.ref(
                ("consumers", i, "retry", "dead_letter"),
                retry["dead_letter"],
                ("queue", "exchange", "topic"),
            )


def _check_result_names(c: _Checker) -> None:
    """Results name a topic's consumer groups ``<topic>/<group>``, their partitions
    ``<topic>/<group>/p<k>`` and broker ingress stages ``<queue>/ingress`` and
    ``<topic>/p<k>/ingress``: a destination named like one of them would share its rows
    (and its instability verdict), so it is refused, as is a clash between two of them."""
    made: dict[str, str] = {}  # result name -> what it names
    for name, dest in c.dests.items():
        if dest.data.get("ingress") is None and dest.data.get("model") is None:
            pass  # no ingress stage (stated, or possibly from a component model)
        elif dest.kind == "queue":
            made.setdefault(f"{name}/ingress", f"the ingress stage of queue {name!r}")
        elif dest.kind == "topic":
            for k in range(_partitions(dest)):
                made.setdefault(f"{name}/p{k}/ingress", f"an ingress stage of topic {name!r}")
    groups: set[tuple[str, str]] = set()  # a second declaration is reported elsewhere
    for i, con in _items(c.data, "consumers"):
        topic, group = con.get("topic"), con.get("group") or con.get("name")
        dest = c.dests.get(topic) if isinstance(topic, str) else None
        if dest is None or dest.kind != "topic" or not isinstance(group, str):
            continue
        if (topic, group) in groups:
            continue
        groups.add((topic, group))
        what = f"group {group!r} on topic {topic!r} (consumers[{i}])"
        for result, meaning in [(f"{topic}/{group}", what)] + [
            (f"{topic}/{group}/p{k}", f"partition {k} of {what}") for k in range(_partitions(dest))
        ]:
            if result in made and made[result] != meaning:
                c.add(
                    ("consumers", i, "group" if con.get("group") else "name"),
                    group,
                    f"results would name {meaning} {result!r}, as they name "
                    f"{made[result]}: choose another group name",
                )
                break
            made[result] = meaning
    for name, dest in c.dests.items():
        if name in made:
            c.add(
                (*dest.path, "name"),
                name,
                f"{dest.kind} name {name!r} is also how results name {made[name]}: "
                "choose another name",
            )


def _partitions(dest: _Dest) -> int:
    parts = dest.data.get("partitions", 1)
    return parts if isinstance(parts, int) and 0 < parts <= 100_000 else 1


def _check_cycles(c: _Checker) -> None:
    """Dead-letter chains and publish_to pipelines must not loop back on themselves."""

    def fan_out(target: object) -> list[str]:
        dest = c.dests.get(target) if isinstance(target, str) else None
        if dest is None:
            return []
        if dest.kind != "exchange":
            return [target]  # type: ignore[list-item]
        bindings = dest.data.get("bindings")
        found = (_bound_queue(b) for b in (bindings if isinstance(bindings, list | tuple) else ()))
        return [q for q in found if isinstance(q, str) and q in c.dests]

    dead: dict[str, list[tuple[str, Path]]] = {}
    for name, dest in c.dests.items():
        if dest.kind == "queue" and dest.data.get("dead_letter") is not None:
            path = (*dest.path, "dead_letter")
            dead[name] = [(q, path) for q in fan_out(dest.data["dead_letter"])]
    _report_cycles(
        c,
        dead,
        "dead-letter cycle {cycle}: a message could be dead-lettered "
        "around it forever (for delayed retries use a consumer's retry: block)",
    )

    publish: dict[str, list[tuple[str, Path]]] = {}
    for i, con in _items(c.data, "consumers"):
        source = con.get("queue") or con.get("topic")
        raw = con.get("publish_to")
        targets = [raw] if isinstance(raw, str) else raw
        if not isinstance(source, str) or not isinstance(targets, list | tuple):
            continue
        for j, target in enumerate(targets):
            path: Path = ("consumers", i, "publish_to") + (() if isinstance(raw, str) else (j,))
            publish.setdefault(source, []).extend((q, path) for q in fan_out(target))
    _report_cycles(
        c,
        publish,
        "publish cycle {cycle}: every processed message would be published around it forever",
    )


def _report_cycles(c: _Checker, edges: dict[str, list[tuple[str, Path]]], template: str) -> None:
    """Report each elementary cycle once, at the edge that closes it."""
    reported: set[frozenset[str]] = set()
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt, path in edges.get(node, ()):
            if state.get(nxt) == 1:
                cycle = [*stack[stack.index(nxt) :], nxt]
                if frozenset(cycle) not in reported:
                    reported.add(frozenset(cycle))
                    c.add(path, node, template.format(cycle=" -> ".join(cycle)))
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in list(edges):
        if node not in state:
            visit(node)


# -- the resolved graph ----------------------------------------------------------------


@dataclass(frozen=True)
class Destination:
    """A queue, exchange or topic with the broker that hosts it."""

    name: str
    kind: str
    broker: Broker
    spec: Queue | Exchange | Topic


@dataclass(frozen=True)
class Graph:
    """Name lookups over a valid scenario, for the engines."""

    scenario: Scenario
    destinations: Mapping[str, Destination]
    consumers_of: Mapping[str, tuple[Consumer, ...]]
    producers_to: Mapping[str, tuple[Producer, ...]]

    def route(self, name: str, routing_key: str | None = None) -> tuple[str, ...]:
        """Names of the queues and topics a message published to ``name`` lands in."""
        dest = self.destinations[name]
        if dest.kind != "exchange":
            return (name,)
        ex: Exchange = dest.spec  # type: ignore[assignment]
        out: list[str] = []
        for b in ex.bindings:
            hit = ex.type == "fanout" or (
                routing_key is not None
                and (
                    b.key == routing_key
                    if ex.type == "direct"
                    else topic_matches(b.key or "", routing_key)
                )
            )
            if hit and b.queue not in out:
                out.append(b.queue)
        return tuple(out)


def resolve(scenario: Scenario) -> Graph:
    """The routing graph of a scenario, after checking its references.

    Raises
    ------
    ScenarioError
        Listing every reference problem (without file positions).
    """
    problems = check_references(scenario.model_dump())
    if problems:
        raise ScenarioError(
            [Issue(None, None, None, p.where, p.value, p.message) for p in problems],
            source=f"scenario {scenario.name!r}",
        )
    dests: dict[str, Destination] = {}
    for broker in scenario.brokers:
        for kind, specs in (
            ("queue", broker.queues),
            ("exchange", broker.exchanges),
            ("topic", broker.topics),
        ):
            for spec in specs:
                dests[spec.name] = Destination(spec.name, kind, broker, spec)
    consumers: dict[str, list[Consumer]] = {n: [] for n in dests}
    for con in scenario.consumers:
        consumers[con.queue or con.topic].append(con)  # type: ignore[index]
    producers: dict[str, list[Producer]] = {n: [] for n in dests}
    for p in scenario.producers:
        producers[p.to].append(p)
    return Graph(
        scenario,
        dests,
        {k: tuple(v) for k, v in consumers.items()},
        {k: tuple(v) for k, v in producers.items()},
    )

"""Component models: broker profiles that scenarios name with ``model:``.

A profile (``qsim/models_data/<name>.yaml``, shipped with the package; ``models/`` at the
repository root explains them) gives defaults for a broker and for the queues and topics it
hosts: ``nodes`` and ``failover`` for the broker; ``durable``, ``replicas`` and ``ingress``
(the broker's own per-message work: a ceiling and a delay) for a queue or a topic. Every
value in a profile carries its public source or is marked as an assumption.

Where ``model:`` goes:

* on a **queue** or **topic**: its defaults fill that destination's unstated fields;
* on a **broker**: its broker defaults fill the broker's unstated fields, and every queue
  (topic) of the broker without a ``model`` of its own takes the model, when the profile
  has queue (topic) defaults; other destinations are left alone.

A field the scenario states always wins, ``null`` included (``failover: null`` removes the
profile's failover); mappings merge key by key (``failover: {promotion: 5s}`` keeps the
profile's health check and detection). Within a broker, a profile's ``replicas`` is capped
at the broker's ``nodes`` (RabbitMQ does this for a quorum queue's initial group size), and
its ``failover`` is only applied when the broker has two nodes or more.

The expansion works on plain data, before validation, and never changes its input; unknown
model names are left in place for the schema to report (with the known names).

>>> known_models()[:2]
('kafka-partition-leader', 'nats-core')
>>> expand_destination({"name": "q", "model": "rabbitmq-quorum"}, "queue")["replicas"]
3
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from importlib.abc import Traversable
from typing import Any

import yaml

__all__ = [
    "KINDS",
    "Profile",
    "ProfileError",
    "check_model",
    "expand_broker",
    "expand_destination",
    "get_profile",
    "known_models",
    "profile_dir",
]

#: The parts of a scenario a profile gives defaults for, and the fields it may set there.
KINDS: dict[str, frozenset[str]] = {
    "broker": frozenset({"nodes", "failover"}),
    "queue": frozenset({"durable", "replicas", "ingress"}),
    "topic": frozenset({"replicas", "ingress"}),
}
_BLOCKS = {
    "failover": frozenset({"health_check", "detection", "promotion"}),
    "ingress": frozenset({"ceiling", "latency"}),
}
_LEAF_KEYS = frozenset({"value", "source", "says", "assumption"})
_TOP_KEYS = frozenset({"name", "title", "description", "references", *KINDS})


class ProfileError(ValueError):
    """A shipped profile file that does not follow the profile format (a packaging bug)."""


@dataclass(frozen=True)
class Profile:
    """One component model.

    Attributes
    ----------
    name, title, description : str
        Identity and what is (and is not) modelled.
    defaults : mapping of str to mapping
        Plain default values per kind (``"broker"``, ``"queue"``, ``"topic"``), as a
        scenario would write them (``"25000/s"``, ``"1s"``); only the kinds the profile
        covers are present.
    raw : mapping
        The parsed file, sources included.
    """

    name: str
    title: str
    description: str
    defaults: Mapping[str, Mapping[str, Any]]
    raw: Mapping[str, Any]

    def covers(self, kind: str) -> bool:
        """Whether the profile has defaults for queues (``"queue"``) or topics (``"topic"``)."""
        return kind in self.defaults


def profile_dir() -> Traversable:
    """The folder of the shipped profiles (inside the installed package)."""
    return resources.files("qsim").joinpath("models_data")


@cache
def _profiles() -> dict[str, Profile]:
    out: dict[str, Profile] = {}
    for entry in sorted(profile_dir().iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            profile = _parse(entry.name, entry.read_text(encoding="utf-8"))
            out[profile.name] = profile
    return out


def known_models() -> tuple[str, ...]:
    """Names of the shipped profiles, sorted."""
    return tuple(sorted(_profiles()))


def get_profile(name: str) -> Profile:
    """The profile called ``name``.

    Raises
    ------
    KeyError
        With the message :func:`check_model` gives (the known names).
    """
    profile = _profiles().get(name)
    if profile is None:
        raise KeyError(_unknown(name))
    return profile


def _unknown(name: str) -> str:
    known = known_models()
    close = difflib.get_close_matches(name, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown model {name!r}{hint}, known models: {', '.join(map(repr, known))}"


def check_model(name: str, kind: str) -> str | None:
    """What is wrong with ``model: name`` on a ``kind`` (``broker``, ``queue``, ``topic``).

    None when the model exists and has defaults for that kind (any model fits a broker).

    >>> print(check_model("kafka-partition-leader", "queue")[:66])
    model 'kafka-partition-leader' has no queue defaults (it describes
    >>> check_model("rabbitmq-quorum", "queue") is None
    True
    """
    profile = _profiles().get(name)
    if profile is None:
        return _unknown(name)
    if kind == "broker" or profile.covers(kind):
        return None
    covered = " and ".join(f"{k}s" for k in ("queue", "topic") if profile.covers(k))
    fitting = [n for n, p in _profiles().items() if p.covers(kind)]
    return (
        f"model {name!r} has no {kind} defaults (it describes {covered}); "
        f"{kind} models: {', '.join(map(repr, sorted(fitting)))}"
    )


# -- the file format ------------------------------------------------------------------------


def _parse(filename: str, text: str) -> Profile:
    """Check one profile file and extract its plain defaults."""
    stem = filename.removesuffix(".yaml")

    def bad(message: str) -> ProfileError:
        return ProfileError(f"models_data/{filename}: {message}")

    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise bad(f"not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise bad("a profile is a mapping")
    extra = set(raw) - _TOP_KEYS
    if extra:
        raise bad(f"unknown keys {sorted(extra)}; allowed: {sorted(_TOP_KEYS)}")
    if raw.get("name") != stem:
        raise bad(f"name must be {stem!r} (the file name), got {raw.get('name')!r}")
    for key in ("title", "description"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise bad(f"{key} must be a non-empty text")
    refs = raw.get("references") or {}
    if not isinstance(refs, dict):
        raise bad("references must map ids to {title, url}")
    for rid, ref in refs.items():
        if not (isinstance(ref, dict) and set(ref) == {"title", "url"}):
            raise bad(f"references.{rid} must be {{title, url}}")
        if not str(ref["url"]).startswith("https://"):
            raise bad(f"references.{rid}.url must be an https:// address")
    defaults: dict[str, dict[str, Any]] = {}
    for kind, allowed in KINDS.items():
        section = raw.get(kind)
        if section is None:
            continue
        if not isinstance(section, dict) or set(section) - allowed:
            raise bad(f"{kind} may set only {sorted(allowed)}")
        defaults[kind] = {k: _value(v, f"{kind}.{k}", refs, bad) for k, v in section.items()}
    if "queue" not in defaults and "topic" not in defaults:
        raise bad("a profile needs queue or topic defaults")
    return Profile(stem, raw["title"].strip(), " ".join(raw["description"].split()), defaults, raw)


def _value(node: Any, where: str, refs: Mapping[str, Any], bad: Any) -> Any:
    """The plain value of a sourced leaf, or of a block (failover, ingress) of sourced leaves."""
    if isinstance(node, dict) and "value" in node:
        if set(node) - _LEAF_KEYS:
            raise bad(f"{where}: a value may carry only {sorted(_LEAF_KEYS)}")
        if "source" not in node and "assumption" not in node:
            raise bad(f"{where}: every value needs a source or an assumption")
        sources = node.get("source", [])
        for rid in [sources] if isinstance(sources, str) else sources:
            if rid not in refs:
                raise bad(f"{where}: source {rid!r} is not in references")
        return node["value"]
    name = where.rsplit(".", 1)[-1]
    if not isinstance(node, dict) or name not in _BLOCKS or set(node) - _BLOCKS[name]:
        raise bad(f"{where} must be a sourced value {{value, source|assumption}} or a block")
    block = {k: _value(v, f"{where}.{k}", refs, bad) for k, v in node.items()}
    return {"mode": "primary-backup", **block} if name == "failover" else block


# -- expansion (plain data, before validation) -------------------------------------------


def _merge(stated: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """``stated`` with the defaults it does not state; nested mappings merge key by key."""
    out = dict(stated)
    for key, value in defaults.items():
        if key not in out:
            out[key] = value
        elif isinstance(out[key], Mapping) and isinstance(value, Mapping):
            out[key] = _merge(out[key], value)
        elif key == "failover" and isinstance(out[key], str) and isinstance(value, Mapping):
            out[key] = _merge({"mode": out[key]}, value)  # the `failover: primary-backup` form
    return out


def _nodes(data: Mapping[str, Any]) -> int | None:
    nodes = data.get("nodes", 1)
    return nodes if isinstance(nodes, int) and not isinstance(nodes, bool) else None


def expand_destination(
    data: Any, kind: str, *, inherited: str | None = None, nodes: int | None = None
) -> Any:
    """A queue or topic (plain data) with its model's defaults filled in.

    ``inherited`` is the broker's model, used when the destination names none; ``nodes``
    caps the profile's ``replicas``. Anything that is not a mapping with a usable model
    comes back unchanged.
    """
    if not isinstance(data, Mapping):
        return data
    name = data.get("model", inherited)
    if not isinstance(name, str) or check_model(name, kind) is not None:
        return data
    defaults = dict(_profiles()[name].defaults[kind])
    if nodes is not None and isinstance(defaults.get("replicas"), int):
        defaults["replicas"] = min(defaults["replicas"], max(nodes, 1))
    return _merge({**data, "model": name}, defaults)


def expand_broker(data: Any) -> Any:
    """A broker (plain data) with its model's defaults, and its destinations', filled in."""
    if not isinstance(data, Mapping):
        return data
    name = data.get("model")
    known = isinstance(name, str) and name in _profiles()
    out = dict(data)
    if known:
        defaults = dict(_profiles()[name].defaults.get("broker", {}))
        if "nodes" in out:
            defaults.pop("nodes", None)
        nodes = _nodes({**defaults, **out})
        if nodes is None or nodes < 2:
            defaults.pop("failover", None)
        out = _merge(out, defaults)
    nodes = _nodes(out)
    for key, kind in (("queues", "queue"), ("topics", "topic")):
        items = out.get(key)
        if isinstance(items, list | tuple):
            out[key] = [
                expand_destination(item, kind, inherited=name if known else None, nodes=nodes)
                for item in items
            ]
    return out

"""Component models (models/, qsim/models_data/): sourced profiles, defaults, overrides, errors,
the broker ingress stage they drive in the simulator, and shipping with the package."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from qsim.engines import run
from qsim.scenario import Scenario, ScenarioError, dump_scenario, loads
from qsim.scenario.profiles import get_profile, known_models, profile_dir
from qsim.scenario.schema_profile import ingress_reason
from qsim.scenario.units import parse_duration, parse_rate

ROOT = Path(__file__).parents[2]
FILES = sorted(Path(str(profile_dir())).glob("*.yaml"))
EXPECTED = {
    "kafka-partition-leader",
    "nats-core",
    "nats-jetstream",
    "rabbitmq-classic-durable",
    "rabbitmq-classic-transient",
    "rabbitmq-quorum",
}
_NUMBER = re.compile(r"\d")


def scenario_text(broker: str, *, kind: str = "queue", rate: str = "20/s", extra: str = "") -> str:
    """A small scenario around one broker block (YAML flow mapping) and one destination 'd'."""
    consumer = (
        "{name: c, queue: d, instances: 4, service: 5ms}"
        if kind == "queue"
        else "{name: c, topic: d, instances: 2, service: 5ms}"
    )
    return textwrap.dedent(f"""\
        name: models
        seed: 7
        duration: 120s
        warmup: 10s
        replications: 2
        producers: [{{name: p, to: d, rate: {rate}}}]
        brokers: [{broker}]
        consumers: [{consumer}]
        {extra}""")


def destination(s: Scenario) -> Any:
    b = s.brokers[0]
    return (b.queues or b.topics)[0]


def kind_of(model: str) -> str:
    return "queue" if get_profile(model).covers("queue") else "topic"


def broker_for(model: str, *, on: str = "destination", more: str = "") -> str:
    """A broker block using ``model`` on the destination (or on the broker)."""
    kind = kind_of(model)
    dest = "{name: d" + (", partitions: 2" if kind == "topic" else "")
    dest += (f", model: {model}" if on == "destination" else "") + more + "}"
    head = f"name: b, model: {model}, " if on == "broker" else "name: b, "
    return "{" + head + f"{kind}s: [{dest}]" + "}"


# -- the profile files ------------------------------------------------------------------------


def test_the_six_profiles_are_shipped() -> None:
    """Exactly the documented models are known, one file each, named after the file."""
    assert set(known_models()) == EXPECTED
    assert {f.stem for f in FILES} == EXPECTED


def test_models_readme_lists_every_profile() -> None:
    """models/README.md (the pointer at the repository root) names every shipped model."""
    readme = (ROOT / "models" / "README.md").read_text()
    for name in known_models():
        assert f"`{name}`" in readme


def _leaves(node: Any, path: str) -> list[tuple[str, Any]]:
    """Every sourced value of a profile section (a mapping with ``value``), or a bare scalar."""
    if isinstance(node, dict) and "value" in node:
        return [(path, node)]
    if isinstance(node, dict):
        return [leaf for k, v in node.items() for leaf in _leaves(v, f"{path}.{k}")]
    return [(path, node)]  # a scalar outside a {value, ...}: not allowed


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_every_number_has_a_source_or_an_assumption(path: Path) -> None:
    """Every value in a profile is {value, source and/or assumption}; sources resolve to a
    reference with a title and an https URL and come with what they say."""
    raw = yaml.safe_load(path.read_text())
    assert set(raw) <= {"name", "title", "description", "references", "broker", "queue", "topic"}
    refs = raw["references"]
    for rid, ref in refs.items():
        assert ref["title"].strip(), rid
        assert re.fullmatch(r"https://\S+", ref["url"]), rid
    leaves = [
        leaf for kind in ("broker", "queue", "topic") for leaf in _leaves(raw.get(kind), kind)
    ]
    leaves = [(p, v) for p, v in leaves if v is not None]  # an absent section
    assert leaves
    for where, leaf in leaves:
        assert isinstance(leaf, dict), f"{where}: bare value {leaf!r} without a source"
        assert "source" in leaf or "assumption" in leaf, where
        sources = leaf.get("source", [])
        for rid in [sources] if isinstance(sources, str) else sources:
            assert rid in refs, f"{where}: unknown source {rid!r}"
        if sources:
            assert str(leaf.get("says", "")).strip(), f"{where}: a source must say something"
        if "assumption" in leaf:
            assert len(str(leaf["assumption"]).split()) >= 5, f"{where}: explain the assumption"
    # No number hides in the free text of the sections (titles and URLs are references).
    numbers = [p for p, v in leaves if _NUMBER.search(str(v["value"]))]
    assert numbers, "a profile states numbers"


@pytest.mark.parametrize("model", sorted(EXPECTED))
def test_each_profile_loads_and_its_values_have_units_that_parse(model: str) -> None:
    """A profile's defaults are plain scenario values: rates and durations parse, counts are
    integers, and the failover block is complete."""
    p = get_profile(model)
    assert p.title and p.description and (p.covers("queue") or p.covers("topic"))
    for kind in ("queue", "topic"):
        ingress = p.defaults.get(kind, {}).get("ingress")
        if ingress:
            assert parse_rate(ingress["ceiling"]) > 0
            assert parse_duration(ingress["latency"]) >= 0
    failover = p.defaults["broker"]["failover"]
    if failover is not None:
        assert set(failover) == {"mode", "health_check", "detection", "promotion"}
        assert all(parse_duration(failover[k]) >= 0 for k in ("health_check", "detection"))


# -- schema: defaults, overrides, errors --------------------------------------------------


@pytest.mark.parametrize("model", sorted(EXPECTED))
@pytest.mark.parametrize("on", ["destination", "broker"])
def test_a_scenario_using_each_model_validates_and_runs_short(model: str, on: str) -> None:
    """Each model, on its destination or on the broker, gives a valid scenario that runs."""
    kind = kind_of(model)
    s = loads(scenario_text(broker_for(model, on=on), kind=kind))
    d = destination(s)
    assert d.model == model and d.ingress is not None and d.ingress.active
    if on == "broker":
        assert s.brokers[0].nodes == get_profile(model).defaults["broker"]["nodes"]
    result = run(s, duration=30.0)
    tput = result.summary[result.summary.metric == "throughput"]
    assert (tput[tput.scope.isin(["queue", "group"])].value > 0).all()
    assert (result.summary.scope == "ingress").any()


def test_broker_model_fills_broker_and_queue_defaults() -> None:
    """model: on a broker sets nodes, the failover timing, and its queues' fields."""
    s = loads(scenario_text(broker_for("rabbitmq-quorum", on="broker")))
    b, q = s.brokers[0], destination(s)
    assert b.nodes == 3
    assert b.failover is not None
    assert (b.failover.health_check, b.failover.detection, b.failover.promotion) == (1.0, 1.5, 0.2)
    assert (q.durable, q.replicas) == (True, 3)
    assert (q.ingress.ceiling, q.ingress.latency) == (25000.0, 0.005)


@pytest.mark.parametrize(
    ("more", "check"),
    [
        # a stated boolean equal to the schema default still wins
        (", durable: false", lambda s: destination(s).durable is False),
        # stated replicas win
        (", replicas: 2", lambda s: destination(s).replicas == 2),
        # a partial ingress merges: the profile's ceiling stays
        (
            ", ingress: {latency: 0s}",
            lambda s: (
                destination(s).ingress.ceiling == 25000.0 and destination(s).ingress.latency == 0.0
            ),
        ),
        # ingress: null removes the stage
        (", ingress: null", lambda s: destination(s).ingress is None),
        # model: null opts a queue out of the broker's model
        (
            ", model: null",
            lambda s: (
                destination(s).model is None
                and destination(s).replicas == 1
                and destination(s).ingress is None
            ),
        ),
        # the queue's own model beats the broker's
        (
            ", model: rabbitmq-classic-transient",
            lambda s: destination(s).durable is False and destination(s).ingress.ceiling == 50000.0,
        ),
    ],
)
def test_a_field_the_scenario_states_overrides_the_profile(more: str, check: Any) -> None:
    """Anything stated on the queue wins over the model's default."""
    s = loads(scenario_text(broker_for("rabbitmq-quorum", on="broker", more=more)))
    assert check(s)


@pytest.mark.parametrize(
    ("broker", "check"),
    [
        # failover: null removes the profile's failover
        (
            "{name: b, model: rabbitmq-quorum, failover: null, queues: [{name: d}]}",
            lambda b: b.failover is None,
        ),
        # a partial failover merges with the profile's
        (
            "{name: b, model: rabbitmq-quorum, failover: {promotion: 2s}, queues: [{name: d}]}",
            lambda b: (b.failover.health_check, b.failover.promotion) == (1.0, 2.0),
        ),
        # the shorthand `failover: primary-backup` merges too
        (
            "{name: b, model: kafka-partition-leader, failover: primary-backup, queues: [{name: d}]}",
            lambda b: b.failover.detection == 7.0,
        ),
        # one node: replicas capped at nodes, no failover (it needs two nodes)
        (
            "{name: b, model: rabbitmq-quorum, nodes: 1, queues: [{name: d}]}",
            lambda b: b.failover is None and b.queues[0].replicas == 1,
        ),
        # two nodes: replicas capped at 2, failover kept
        (
            "{name: b, model: rabbitmq-quorum, nodes: 2, queues: [{name: d}]}",
            lambda b: b.failover is not None and b.queues[0].replicas == 2,
        ),
        # a model without queue defaults leaves the broker's queues alone
        (
            "{name: b, model: kafka-partition-leader, queues: [{name: d}]}",
            lambda b: b.queues[0].model is None and b.queues[0].ingress is None and b.nodes == 3,
        ),
    ],
)
def test_broker_fields_merge_with_the_profile(broker: str, check: Any) -> None:
    """Broker-level overrides, merges and the nodes caps."""
    s = loads(scenario_text(broker))
    assert check(s.brokers[0])


def test_unknown_model_lists_the_known_ones_at_its_line() -> None:
    """An unknown model name is an error at the model's line and column, naming the known ones."""
    text = scenario_text("{name: b, queues: [{name: d, model: rabbitmq-qourum}]}")
    with pytest.raises(ScenarioError) as info:
        loads(text, "s.yaml")
    (issue,) = info.value.issues
    assert (issue.line, issue.col, issue.path) == (7, 47, "brokers[0].queues[0].model")
    assert issue.message.startswith(
        "unknown model 'rabbitmq-qourum' (did you mean 'rabbitmq-quorum'?)"
    )
    for name in EXPECTED:
        assert repr(name) in issue.message
    assert "s.yaml" in str(info.value) and "line 7, col 47" in str(info.value)


def test_unknown_broker_model_is_reported_with_the_other_errors() -> None:
    """The model error comes with the file's other errors, each at its place."""
    text = scenario_text("{name: b, model: kafka, queues: [{name: d, capacity: 0}]}")
    with pytest.raises(ScenarioError) as info:
        loads(text)
    paths = {i.path: i.message for i in info.value.issues}
    assert paths["brokers[0].model"].startswith("unknown model 'kafka'")
    assert "known models: 'kafka-partition-leader'" in paths["brokers[0].model"]
    assert paths["brokers[0].queues[0].capacity"].startswith("must be >= 1")


def test_a_model_of_the_wrong_kind_is_an_error() -> None:
    """A topic model on a queue (or the reverse) says what it describes and lists the fitting ones."""
    with pytest.raises(
        ScenarioError,
        match=r"model 'kafka-partition-leader' has no queue "
        r"defaults \(it describes topics\); queue models: 'nats-core'",
    ):
        loads(scenario_text("{name: b, queues: [{name: d, model: kafka-partition-leader}]}"))


def test_unknown_model_in_code_raises_a_validation_error() -> None:
    """Building a scenario in code checks model names the same way."""
    with pytest.raises(ValidationError, match="known models: 'kafka-partition-leader'"):
        Scenario(
            name="x",
            duration=10,
            producers=[{"name": "p", "to": "d", "rate": 1}],
            brokers=[{"name": "b", "model": "nope", "queues": [{"name": "d"}]}],
        )


def test_dump_and_load_give_the_same_scenario_with_overrides() -> None:
    """Dumping without defaults keeps overrides equal to schema defaults (durable: false,
    promotion: 2s, latency: 0s, model: null), so the dump loads back equal."""
    text = scenario_text(
        "{name: b, model: rabbitmq-quorum, failover: {promotion: 2s}, queues: "
        "[{name: d, durable: false, ingress: {latency: 0s}}, {name: e, model: null}]}"
    )
    s = loads(text)
    assert loads(dump_scenario(s)) == s


def test_ingress_reason_names_the_first_stage() -> None:
    """Engines that do not model the broker's own work can say why (fast engine's supports)."""
    s = loads(scenario_text(broker_for("rabbitmq-quorum")))
    assert (
        ingress_reason(s) == "queue 'd' has a broker ingress stage (from model 'rabbitmq-quorum')"
    )
    assert ingress_reason(loads(scenario_text("{name: b, queues: [{name: d}]}"))) is None


# -- the broker cost in the simulator ------------------------------------------------------


def _summary(text: str, **kw: Any) -> Any:
    """Run on the event engine (the fast engine declines ingress stages; comparisons
    with and without a stage then share every random stream)."""
    return run(loads(text), engine="sim", **kw)


def _value(result: Any, scope: str, name: str, metric: str) -> Any:
    s = result.summary
    return s[(s.scope == scope) & (s.name == name) & (s.metric == metric)].iloc[0]


def test_a_ceiling_caps_the_queue_throughput_and_its_backlog_is_flagged() -> None:
    """Offered 30/s against a 20/s ingress ceiling: the queue gets 20/s, the stage grows."""
    broker = "{name: b, queues: [{name: d, ingress: {ceiling: 20/s}}]}"
    capped = _summary(scenario_text(broker, rate="30/s"))
    free = _summary(scenario_text("{name: b, queues: [{name: d}]}", rate="30/s"))
    tput = _value(capped, "queue", "d", "throughput")
    assert 19.8 <= tput.value <= 20.01
    assert _value(free, "queue", "d", "throughput").value > 28.0
    assert "d/ingress" in capped.unstable and "d/ingress" not in free.unstable
    assert _value(capped, "ingress", "d/ingress", "utilization").value > 0.99


@pytest.mark.parametrize("model", sorted(EXPECTED))
def test_each_models_cost_adds_about_its_own_cost_at_low_load(model: str) -> None:
    """At low load a model's stage adds 1/ceiling + latency plus the M/D/1 wait
    (Pollaczek-Khinchine: lambda s^2 / (2 (1 - rho))) to the end-to-end response."""
    kind = kind_of(model)
    rate = 5.0
    with_model = scenario_text(broker_for(model), kind=kind, rate=f"{rate}/s")
    without = scenario_text(broker_for(model, more=", ingress: null"), kind=kind, rate=f"{rate}/s")
    ingress = destination(loads(with_model)).ingress
    s, lat = ingress.service, ingress.latency
    lam = rate / (2 if kind == "topic" else 1)  # round-robin over 2 partitions, keyless
    expected = s + lat + lam * s * s / (2 * (1 - lam * s))
    a, b = _summary(with_model), _summary(without)
    # Same seed, no randomness in the stage: the same messages, each delayed.
    added = (
        _value(a, "system", "all", "response_mean").value
        - _value(b, "system", "all", "response_mean").value
    )
    assert added == pytest.approx(expected, rel=0.02, abs=2e-6)
    name = "d/ingress" if kind == "queue" else "d/p0/ingress"
    delay = _value(a, "ingress", name, "delay_mean")
    assert delay.value == pytest.approx(expected, rel=0.02, abs=2e-6)


def test_near_the_ceiling_the_stage_wait_is_the_md1_wait() -> None:
    """At rho = 0.5 the stage delay is latency + s + rho s / (2 (1 - rho)) (M/D/1, exact),
    within the confidence interval across replications."""
    broker = "{name: b, queues: [{name: d, ingress: {ceiling: 40/s, latency: 30ms}}]}"
    text = scenario_text(broker, rate="20/s").replace("replications: 2", "replications: 8")
    result = _summary(text, duration=600.0)
    s, rho = 1 / 40, 0.5
    theory = 0.030 + s + rho * s / (2 * (1 - rho))
    delay = _value(result, "ingress", "d/ingress", "delay_mean")
    assert delay.ci_low <= theory <= delay.ci_high
    assert _value(result, "ingress", "d/ingress", "utilization").value == pytest.approx(
        rho, rel=0.05
    )


def test_only_a_ceiling_takes_a_queue_out_of_the_theory_check() -> None:
    """A pure delay keeps Poisson arrivals (M/M/c stays exact); a ceiling does not."""
    mmc = "{name: c, queue: d, instances: 2, service: {dist: exponential, mean: 50ms}}"
    base = scenario_text("{name: b, queues: [{name: d%s}]}").replace(
        "{name: c, queue: d, instances: 4, service: 5ms}", mmc
    )
    delayed = _summary(base % ", ingress: {latency: 20ms}")
    capped = _summary(base % ", ingress: {ceiling: 1000/s}")
    assert set(delayed.theory.model) == {"M/M/c"}
    assert capped.theory.empty


# -- shipped with the package --------------------------------------------------------------


def test_an_installed_qsim_finds_its_profiles(tmp_path: Path) -> None:
    """A wheel built from the source carries models_data/*.yaml, and qsim installed from it
    (not the source tree) lists and uses the profiles."""
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "qsim", src / "qsim", ignore=shutil.ignore_patterns("__pycache__"))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(
        [
            *pip,
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-w",
            str(tmp_path / "dist"),
            str(src),
        ],
        check=True,
        cwd=tmp_path,
        capture_output=True,
    )
    (wheel,) = (tmp_path / "dist").glob("qsim-*.whl")
    site = tmp_path / "site"
    subprocess.run(
        [*pip, "install", "--no-deps", "--no-index", "--target", str(site), str(wheel)],
        check=True,
        capture_output=True,
    )
    shutil.rmtree(src)  # nothing left to find but the installed copy
    probe = textwrap.dedent("""\
        import qsim, qsim.scenario.profiles as p
        from qsim.scenario import loads
        print(qsim.__file__)
        print(",".join(p.known_models()))
        s = loads("name: x\\nduration: 1s\\nproducers: [{name: p, to: d, rate: 1}]\\n"
                  "brokers: [{name: b, nodes: 3, queues: [{name: d, model: rabbitmq-quorum}]}]")
        print(s.brokers[0].queues[0].replicas)
    """)
    out = subprocess.run(
        [sys.executable, "-c", probe],
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
    ).stdout.split()
    assert out[0].startswith(str(site))
    assert set(out[1].split(",")) == EXPECTED
    assert out[2] == "3"

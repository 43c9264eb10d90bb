"""Loading scenario files: positioned errors, all at once; safe YAML; dump and round trip."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from qsim.scenario import Issue, Scenario, ScenarioError, dump_scenario, load_scenario, loads
from tests.scenario.strategies import scenarios

ROOT = Path(__file__).parents[2]
EXAMPLES = sorted((ROOT / "scenarios").glob("*.yaml"))

GOOD = """\
name: demo
duration: 1h
producers:
  - name: web
    to: orders
    rate: 120/s
brokers:
  - name: rabbit
    queues:
      - {name: orders, capacity: 100}
      - {name: audit}
consumers:
  - name: workers
    queue: orders
    instances: 4
    service: {dist: lognormal, mean: 50ms, scv: 1.5}
"""


def write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def errors_of(path: Path) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    return info.value


def where(err: ScenarioError) -> list[tuple[int | None, int | None, str]]:
    return [(i.line, i.col, i.path) for i in err.issues]


def test_good_file_loads(tmp_path: Path) -> None:
    """A valid file loads into the model with SI values."""
    s = load_scenario(write(tmp_path, GOOD))
    assert s.duration == 3600.0 and s.consumers[0].service.mean == 0.05  # type: ignore[union-attr]


def test_report_renders_like_the_style_guide() -> None:
    """str() of a ScenarioError is the template: header, then aligned line/col, path, message."""
    err = ScenarioError(
        [
            Issue("x.yaml", 21, 17, "consumers[0].service.scv", -1.5, "must be >= 0, got -1.5"),
            Issue(
                "x.yaml",
                9,
                9,
                "producers[0].to",
                "order",
                "unknown queue 'order', known queues: 'orders', 'audit'",
            ),
        ],
        source="scenarios/order-pipeline.yaml",
    )
    assert str(err) == (
        "qsim: scenarios/order-pipeline.yaml has 2 errors\n"
        "  line 21, col 17  consumers[0].service.scv: must be >= 0, got -1.5\n"
        "  line 9,  col 9   producers[0].to: unknown queue 'order', known queues: 'orders', 'audit'"
    )


def test_all_errors_of_a_file_are_reported_at_once_with_positions(tmp_path: Path) -> None:
    """Schema and reference errors come together, sorted by position, each at its value."""
    path = write(
        tmp_path,
        GOOD.replace("to: orders", "to: order")
        .replace("scv: 1.5", "scv: -1.5")
        .replace("instances: 4", "instances: four")
        .replace("duration: 1h", "duration: 1 hour later"),
    )
    err = errors_of(path)
    assert where(err) == [
        (2, 11, "duration"),
        (5, 9, "producers[0].to"),
        (15, 16, "consumers[0].instances"),
        (16, 49, "consumers[0].service.scv"),
    ]
    messages = [i.message for i in err.issues]
    assert messages[0].startswith("must be a duration such as 50ms") and messages[0].endswith(
        "got '1 hour later'"
    )
    assert messages[1] == "unknown queue 'order', known queues: 'orders', 'audit'"
    assert messages[2] == "must be an integer, got 'four'"
    assert messages[3] == "must be > 0, got -1.5"
    assert [i.value for i in err.issues] == ["1 hour later", "order", "four", -1.5]
    text = str(err)
    assert text.startswith(f"qsim: {path} has 4 errors\n")
    assert "  line 5,  col 9   producers[0].to: unknown queue 'order'" in text
    assert all(i.file == str(path) for i in err.issues)


@pytest.mark.parametrize(
    ("old", "new", "line", "col", "path", "message"),
    [
        # unknown key: positioned at the key, with a suggestion and the allowed keys
        (
            "capacity: 100",
            "capcity: 100",
            10,
            24,
            "brokers[0].queues[0].capcity",
            "unknown field 'capcity' (did you mean 'capacity'?); allowed: name, capacity,",
        ),
        # a required key missing: positioned at the mapping that lacks it
        ("    to: orders\n", "", 4, 5, "producers[0].to", "is required"),
        # a wrong literal lists the choices
        (
            "capacity: 100}",
            "capacity: 100, overflow: drop-tail}",
            10,
            49,
            "brokers[0].queues[0].overflow",
            "must be one of 'reject', 'drop-head' or 'block', got 'drop-tail'",
        ),
        # an unknown distribution family points at dist:
        (
            "dist: lognormal",
            "dist: lognorm",
            16,
            21,
            "consumers[0].service.dist",
            "must be one of 'exponential', 'deterministic', 'erlang'",
        ),
        # a negative rate shows the text as written
        ("rate: 120/s", "rate: -120/s", 6, 11, "producers[0].rate", "must be > 0, got '-120/s'"),
        # a model-level rule points at the field it is about
        ("    rate: 120/s\n", "", 4, 5, "producers[0].rate", "is required with poisson arrivals"),
        # a consumer reading a queue that does not exist
        (
            "queue: orders",
            "queue: ordres",
            14,
            12,
            "consumers[0].queue",
            "unknown queue 'ordres', known queues: 'orders', 'audit'",
        ),
        # scv given to an exponential: says which families take one
        (
            "dist: lognormal, ",
            "",
            16,
            27,
            "consumers[0].service.scv",
            "unknown field 'scv'; allowed: dist, mean (for a given scv use dist: gamma, lognormal or hyperexponential)",
        ),
        # a bad mapping key is positioned at the key and quoted
        (
            "    rate: 120/s\n",
            "    rate: 120/s\n    priority: {high: 1}\n",
            7,
            16,
            "producers[0].priority.high",
            "must be an integer, got 'high'",
        ),
        # a mapping where a list belongs
        (
            "queues:\n      - {name: orders, capacity: 100}\n      - {name: audit}",
            "queues: {name: orders}",
            9,
            13,
            "brokers[0].queues",
            "must be a list, got a mapping",
        ),
    ],
)
def test_each_error_names_line_col_path_and_message(
    tmp_path: Path, old: str, new: str, line: int, col: int, path: str, message: str
) -> None:
    """One mistake gives one issue at the exact place with a message saying what is allowed."""
    assert old in GOOD
    err = errors_of(write(tmp_path, GOOD.replace(old, new)))
    assert len(err.issues) == 1, str(err)
    issue = err.issues[0]
    assert (issue.line, issue.col, issue.path) == (line, col, path)
    assert issue.message.startswith(message), issue.message


def test_python_tags_are_refused_and_never_run(tmp_path: Path) -> None:
    """!!python/object and friends are positioned errors; nothing is constructed or executed."""
    marker = tmp_path / "pwned"
    text = GOOD.replace(
        "duration: 1h", f"duration: !!python/object/apply:os.system ['touch {marker}']"
    )
    text += "seed: !!python/object:collections.OrderedDict {}\n"
    err = errors_of(write(tmp_path, text))
    assert not marker.exists()
    assert where(err) == [(2, 11, "duration"), (17, 7, "seed")]
    assert err.issues[0].message.startswith("tag !!python/object/apply:os.system is not allowed")
    assert "plain data" in err.issues[1].message


@pytest.mark.parametrize(
    ("text", "line", "col", "message"),
    [
        ("name: x\nproducers:\n  - name: a\n   to: b\n", 4, 4, "YAML syntax: "),  # bad indentation
        ("name: [a, b\nduration: 1h\n", 2, 9, "YAML syntax: "),  # unclosed flow list
        ("name: x\n\tduration: 1h\n", 2, 1, "YAML syntax: "),  # a tab
        (
            "name: x\nname: y\n",
            2,
            1,
            "duplicate key 'name' (first given on line 1)",
        ),  # duplicate key
        ("name: !include x.yaml\n", 1, 7, "tag !include is not allowed"),  # custom tag
        ("- a\n- b\n", 1, 1, "a scenario must be a mapping"),  # not a mapping
        ("", 1, 1, "the file is empty"),  # empty file
        ("a: &x [*x]\n", 1, 4, "an alias refers to a value that contains it"),  # recursive alias
        ("a: 1\n---\nb: 2\n", 2, 1, "YAML syntax: expected a single document"),  # two documents
    ],
)
def test_yaml_level_problems_are_positioned(
    tmp_path: Path, text: str, line: int, col: int, message: str
) -> None:
    """Malformed YAML is reported at its line and column, not as a traceback."""
    err = errors_of(write(tmp_path, text))
    assert (err.issues[0].line, err.issues[0].col) == (line, col)
    assert err.issues[0].message.startswith(message), err.issues[0].message


def test_billion_laughs_is_stopped(tmp_path: Path) -> None:
    """Aliases that expand exponentially are refused instead of eating memory."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    err = errors_of(write(tmp_path, "\n".join(lines) + "\n"))
    assert "expands to more than" in err.issues[0].message


def test_missing_file_is_a_scenario_error(tmp_path: Path) -> None:
    """A path that does not exist says so."""
    err = errors_of(tmp_path / "nope.yaml")
    assert "cannot read the file" in err.issues[0].message


def test_anchors_merge_keys_and_extension_keys(tmp_path: Path) -> None:
    """Shared settings via x- keys, anchors and << merges; explicit keys win over merged ones."""
    head = GOOD[: GOOD.index("consumers:")]
    text = head + textwrap.dedent("""\
        x-worker: &worker {instances: 2, prefetch: 10, service: 20ms}
        consumers:
          - {<<: *worker, name: a, queue: orders, instances: 3}
          - {<<: *worker, name: b, queue: audit}
        """)
    s = load_scenario(write(tmp_path, text))
    assert [(c.name, c.instances, c.prefetch) for c in s.consumers] == [("a", 3, 10), ("b", 2, 10)]


def test_trace_path_must_exist_and_is_not_read(tmp_path: Path) -> None:
    """A missing trace is an error at its path; an existing one is resolved from the file's folder."""
    missing = GOOD.replace(
        "    rate: 120/s\n", "    arrival: {process: trace, path: traces/huge-1GB.csv}\n"
    )
    err = errors_of(write(tmp_path, missing))
    assert where(err) == [(6, 37, "producers[0].arrival.path")]
    assert "huge-1GB.csv' does not exist" in err.issues[0].message
    (tmp_path / "traces").mkdir()
    (tmp_path / "traces" / "huge-1GB.csv").write_text("not,read\n")
    s = load_scenario(write(tmp_path, missing))
    assert s.producers[0].arrival.path == str(tmp_path / "traces" / "huge-1GB.csv")  # type: ignore[union-attr]
    out = tmp_path / "elsewhere" / "copy.yaml"
    out.parent.mkdir()
    assert "path: ../traces/huge-1GB.csv" in dump_scenario(s, out)
    assert load_scenario(out) == s


def test_loads_names_the_text_in_errors() -> None:
    """loads() reports under the given display name."""
    with pytest.raises(
        ScenarioError, match=r"^qsim: <cell 3> has 1 error\n  line 2, col 11  duration"
    ):
        loads(GOOD.replace("duration: 1h", "duration: soon"), name="<cell 3>")


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_scenarios_validate_and_round_trip(path: Path) -> None:
    """Every scenarios/*.yaml loads, opens with comments, and survives dump -> load unchanged."""
    s = load_scenario(path)
    assert path.read_text().startswith("#")
    assert loads(dump_scenario(s)) == s


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_round_trip_load_dump_load(data: dict) -> None:
    """A valid scenario, dumped to YAML with units and loaded again, is the same model."""
    s = Scenario.model_validate(data)
    text = dump_scenario(s)
    again = loads(text)
    assert again == s
    assert dump_scenario(again) == text


@pytest.mark.parametrize(
    ("old", "new", "check"),
    [
        # YAML 1.1 would read 1:30 as 90 seconds; it is refused as a duration instead
        ("duration: 1h", "duration: 1:30", "must be a duration such as 50ms"),
        # YAML 1.1 would read 010 as 8 (octal); it is ten
        ("instances: 4", "instances: 010", 10),
        # YAML 1.1 dates stay text (and a name may look like one)
        ("name: demo", "name: 2024-01-01", "2024-01-01"),
    ],
)
def test_yaml_11_surprises_are_defused(tmp_path: Path, old: str, new: str, check: object) -> None:
    """Base-60 numbers, octal and dates do not silently become other values."""
    path = write(tmp_path, GOOD.replace(old, new))
    if isinstance(check, str) and check.startswith("must"):
        assert errors_of(path).issues[0].message.startswith(check)
    elif isinstance(check, int):
        assert load_scenario(path).consumers[0].instances == check
    else:
        assert load_scenario(path).name == check

"""Building blocks of the scenario schema: the frozen base model, unit-aware field types
and the helpers that raise positioned validation errors.

The unit types accept text (``"50ms"``, ``"1200/s"``, ``"3x"``, ``"64KiB"``) or a bare
number (seconds, per second, factor, bytes), store SI floats, and serialise back to text
in JSON mode (which :func:`qsim.scenario.dump_scenario` uses), exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, ClassVar, Union

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    PlainSerializer,
    Tag,
    WithJsonSchema,
    model_serializer,
)
from pydantic_core import PydanticCustomError
from pydantic_core.core_schema import SerializerFunctionWrapHandler

from qsim.scenario.units import (
    DURATION_FORMS,
    MULTIPLIER_FORMS,
    RATE_FORMS,
    SIZE_FORMS,
    UnitError,
    format_duration,
    format_multiplier,
    format_rate,
    format_size,
    parse_duration,
    parse_multiplier,
    parse_rate,
    parse_size,
)

__all__ = [
    "TAG_ERRORS",
    "UNION_TAGS",
    "Duration",
    "Float",
    "Int",
    "Multiplier",
    "Name",
    "Rate",
    "ScenarioModel",
    "Size",
    "TaggedModel",
    "field_error",
    "tagged",
    "value_error",
]


class ScenarioModel(BaseModel):
    """Base of every scenario model: frozen, unknown keys forbidden, no inf/NaN."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        allow_inf_nan=False,
        validate_default=False,
        use_attribute_docstrings=False,
    )


class TaggedModel(ScenarioModel):
    """A variant of a tagged union (``dist: lognormal``): its tag is always written out,
    even when dumping without defaults, so that the dump reads back as the same variant."""

    tag_field: ClassVar[str] = "dist"

    @model_serializer(mode="wrap")
    def _keep_tag(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        if isinstance(data, dict):
            return {self.tag_field: getattr(self, self.tag_field), **data}
        return data


def value_error(allowed: str) -> PydanticCustomError:
    """An error on the value at hand; the loader appends ``, got <value>``."""
    return PydanticCustomError("qsim_value", "must be {allowed}", {"allowed": allowed})


def field_error(field: str | tuple[str | int, ...], message: str) -> PydanticCustomError:
    """An error found by a model-level check, positioned at ``field`` of that model.

    Pydantic reports model-level errors at the model itself; the loader appends ``field``
    (a key, or a path such as ``("bindings", 1, "key")``) to point at the offending value,
    or at the deepest part of it the file has.
    """
    loc = (field,) if isinstance(field, str) else tuple(field)
    shown = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
    return PydanticCustomError(
        "qsim_field", "{shown}: {message}", {"field": loc, "shown": shown, "message": message}
    )


def _unit(parse: Callable[..., float | int], allowed: str) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        try:
            return parse(value)
        except UnitError:
            raise value_error(allowed) from None

    return convert


def _schema(pattern_hint: str) -> WithJsonSchema:
    return WithJsonSchema(
        {"anyOf": [{"type": "number"}, {"type": "string"}], "description": pattern_hint}
    )


#: Seconds; YAML text like ``50ms``, ``2.5s``, ``10m``, ``1h30m``, ``7d`` or a number of seconds.
Duration = Annotated[
    float,
    BeforeValidator(_unit(parse_duration, DURATION_FORMS)),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
    _schema(DURATION_FORMS),
]
#: Per second; YAML text like ``1200/s``, ``50/min``, ``3k/h`` or a number per second.
Rate = Annotated[
    float,
    BeforeValidator(_unit(parse_rate, RATE_FORMS)),
    PlainSerializer(format_rate, return_type=str, when_used="json"),
    _schema(RATE_FORMS),
]
#: A factor; YAML text like ``3x``, ``0.5x``, ``150%`` or a number.
Multiplier = Annotated[
    float,
    BeforeValidator(_unit(parse_multiplier, MULTIPLIER_FORMS)),
    PlainSerializer(format_multiplier, return_type=str, when_used="json"),
    _schema(MULTIPLIER_FORMS),
]
#: Bytes; YAML text like ``512B``, ``64KiB``, ``1.5MB`` or a number of bytes.
Size = Annotated[
    int,
    BeforeValidator(_unit(parse_size, SIZE_FORMS)),
    PlainSerializer(format_size, return_type=str, when_used="json"),
    _schema(SIZE_FORMS),
]


def _plain(allowed: str) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        # NOTE: pydantic's lax mode reads true as 1; in a scenario that is always a slip.
        if isinstance(value, bool):
            raise value_error(allowed)
        return value

    return check


#: An integer field; true/false are refused rather than read as 1/0.
Int = Annotated[int, BeforeValidator(_plain("an integer"))]
#: A real-number field; true/false are refused rather than read as 1.0/0.0.
Float = Annotated[float, BeforeValidator(_plain("a number"))]


def _name(value: Any) -> Any:
    if isinstance(value, str) and (not value.strip() or value != value.strip()):
        raise value_error("a non-empty name without leading or trailing spaces")
    return value


#: The name of a producer, broker, destination or consumer; references use it.
Name = Annotated[str, BeforeValidator(_name)]


#: Every tag of every tagged union in the schema (``exponential``, ``mmpp``, ...): pydantic
#: puts the chosen tag into an error's location, and the loader skips it there.
UNION_TAGS: set[str] = set()

#: Error type of each tagged union -> (tag key, expected tags, what the union is).
TAG_ERRORS: dict[str, tuple[str, str, str]] = {}


def tagged(
    field: str,
    variants: tuple[type[TaggedModel], ...],
    *,
    what: str,
    default: str | None = None,
    shorthand: Callable[[Any], Any] | None = None,
) -> Any:
    """A union of models told apart by ``field`` (``dist:``, ``process:``), as a type.

    ``default`` is the variant used when the key is absent; ``shorthand`` converts a scalar
    (e.g. a bare duration) into a mapping before the union is validated.
    """
    tags = tuple(str(v.model_fields[field].default) for v in variants)
    UNION_TAGS.update(tags)
    expected = ", ".join(repr(t) for t in tags)
    # NOTE: the context goes in a registry, not in Discriminator(custom_error_context=...):
    # a dict there makes the type unhashable, and `Dist | None` hashes it.
    error_type = f"qsim_tag_{len(TAG_ERRORS)}"
    TAG_ERRORS[error_type] = (field, expected, what)

    def tag_of(value: Any) -> str | None:
        if isinstance(value, dict):
            tag = value.get(field, default)
            return tag if isinstance(tag, str) else "<not a string>"
        return getattr(value, field, None)

    members = tuple(Annotated[v, Tag(t)] for v, t in zip(variants, tags, strict=True))
    union = Annotated[
        Union[members],  # noqa: UP007 -- a runtime tuple of members needs Union[...]
        Discriminator(
            tag_of,
            custom_error_type=error_type,
            custom_error_message=f"{what}: {field} must be one of {expected}",
        ),
    ]
    if shorthand is not None:
        return Annotated[union, BeforeValidator(shorthand)]
    return union

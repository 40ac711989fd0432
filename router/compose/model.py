"""The composer's data: its input (SubgraphSource) and failure (CompositionError), the subgraphs as read
(_Type, _Field, ...: one subgraph's view, directives already resolved to their federation meaning), and the
supergraph as merged (_MType, _MField, ...: directives already printed as they will appear)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from router.compose.text import _is_non_null


class CompositionError(Exception):
    def __init__(self, errors: Sequence[str]) -> None:
        super().__init__("composition failed:\n" + "\n".join(f"  - {e}" for e in errors))
        self.errors = list(errors)


@dataclass(frozen=True)
class SubgraphSource:
    name: str
    url: str
    sdl: str


# the subgraphs as read ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Applied:
    """A directive applied in a subgraph and copied into the supergraph (@deprecated, @tag, ...)."""

    name: str
    args: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        if not self.args:
            return f"@{self.name}"
        return f"@{self.name}(" + ", ".join(f"{n}: {v}" for n, v in self.args) + ")"


@dataclass
class _Arg:
    name: str
    type: str
    default: str | None = None
    description: str | None = None
    directives: list[_Applied] = field(default_factory=list)


@dataclass
class _Field:
    parent: str
    name: str
    type: str
    description: str | None = None
    args: dict[str, _Arg] = field(default_factory=dict)
    directives: list[_Applied] = field(default_factory=list)
    default: str | None = None  # input fields
    extension: bool = False
    external: bool = False  # as written (see _Subgraph.is_external)
    shareable: bool = False  # as written (see _Subgraph.is_shareable)
    requires: str | None = None
    provides: str | None = None
    override: str | None = None
    override_label: str | None = None

    @property
    def coordinate(self) -> str:
        return f"{self.parent}.{self.name}"

    @property
    def required(self) -> bool:
        return _is_non_null(self.type) and self.default is None


@dataclass
class _Key:
    fields: str
    resolvable: bool
    extension: bool


@dataclass
class _Value:
    name: str
    description: str | None = None
    directives: list[_Applied] = field(default_factory=list)


@dataclass
class _Type:
    name: str
    kind: str  # object, interface, union, enum, input, scalar
    description: str | None = None
    directives: list[_Applied] = field(default_factory=list)
    keys: list[_Key] = field(default_factory=list)
    extends: bool = False
    interface_object: bool = False
    shareable_on: set[bool] = field(default_factory=set)  # False: on the definition, True: on an extension
    external_type: bool = False
    has_definition: bool = False
    has_extension: bool = False
    implements: list[str] = field(default_factory=list)
    members: list[str] = field(default_factory=list)
    values: dict[str, _Value] = field(default_factory=dict)
    fields: dict[str, _Field] = field(default_factory=dict)

    @property
    def merged_kind(self) -> str:
        return "interface" if self.interface_object else self.kind


# the supergraph ---------------------------------------------------------------------------------------


@dataclass
class _MArg:
    name: str
    type: str = ""
    default: str | None = None
    description: str | None = None
    directives: list[str] = field(default_factory=list)


@dataclass
class _MField:
    name: str
    type: str = ""
    description: str | None = None
    args: dict[str, _MArg] = field(default_factory=dict)
    directives: list[str] = field(default_factory=list)
    default: str | None = None  # input fields
    inaccessible: bool = False
    # Routing, for the satisfiability check: the graphs whose field an @override takes away (entirely, or
    # but for the subgraph's own needs), and the graphs that resolve the field.
    overridden: set[str] = field(default_factory=set)
    resolving: list[str] = field(default_factory=list)


@dataclass
class _MValue:
    name: str
    description: str | None = None
    directives: list[str] = field(default_factory=list)
    inaccessible: bool = False


@dataclass
class _MType:
    name: str
    kind: str
    description: str | None = None
    directives: list[str] = field(default_factory=list)
    implements: list[str] = field(default_factory=list)
    members: list[str] = field(default_factory=list)
    fields: dict[str, _MField] = field(default_factory=dict)
    values: dict[str, _MValue] = field(default_factory=dict)
    inaccessible: bool = False


@dataclass
class _Override:
    """What the @override directives of one field decide (Apollo's FieldMergeContext)."""

    used: set[str] = field(default_factory=set)  # overridden subgraphs that still need the field
    unused: set[str] = field(default_factory=set)
    unknown_target: set[str] = field(default_factory=set)
    labels: dict[str, str] = field(default_factory=dict)

"""Demand control: static cost estimates worked out by hand, on small hand-written supergraphs (the
composer drops @cost / @listSize, so the supergraphs carrying them are written here) and on our real
supergraph (schema.graphql, no cost directives: defaults only)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from graphql import GraphQLError, OperationDefinitionNode, parse, validate

from router.compose import SubgraphSource, compose
from router.cost import (
    COST_ESTIMATED_TOO_EXPENSIVE,
    COST_QUERY_PARSE_FAILURE,
    CostEstimationError,
    CostModel,
    ListSize,
    check_cost,
    directive_names,
    estimate,
)
from router.supergraph import Supergraph

SCHEMA_GRAPHQL = Path(__file__).resolve().parents[2] / "schema.graphql"

MACHINERY = """
directive @link(url: String, as: String, for: link__Purpose, import: [link__Import]) repeatable on SCHEMA
directive @join__graph(name: String!, url: String!) on ENUM_VALUE
directive @join__type(graph: join__Graph!, key: join__FieldSet, extension: Boolean! = false,
  resolvable: Boolean! = true, isInterfaceObject: Boolean! = false)
  repeatable on OBJECT | INTERFACE | UNION | ENUM | INPUT_OBJECT | SCALAR
scalar join__FieldSet
scalar link__Import
enum link__Purpose { SECURITY EXECUTION }
enum join__Graph { MAIN @join__graph(name: "main", url: "http://main.test/graphql") }
"""

COST_DEFINITIONS = """
directive @{cost}(weight: Int!)
  on ARGUMENT_DEFINITION | ENUM | FIELD_DEFINITION | INPUT_FIELD_DEFINITION | OBJECT | SCALAR
directive @{list_size}(assumedSize: Int, slicingArguments: [String!], sizedFields: [String!],
  requireOneSlicingArgument: Boolean = true) on FIELD_DEFINITION
"""

# Apollo's demand-control examples (Book, Author, Publisher, Address @cost(5), bestsellers, newestAdditions),
# plus a Relay connection, input objects, an enum with a weight and a mutation.
TYPES = """
type Query {
  book(id: ID): Book
  bestsellers: [Book] @listSize(assumedSize: 5)
  newestAdditions(after: ID, limit: Int!): [Book] @listSize(slicingArguments: ["limit"])
  books(first: Int, last: Int, after: String): BookConnection!
    @listSize(slicingArguments: ["first", "last"], sizedFields: ["edges", "nodes"])
  loose(first: Int, last: Int): [Book!]!
    @listSize(slicingArguments: ["first", "last"], requireOneSlicingArgument: false)
  defaulted(first: Int = 4): [Book!]! @listSize(slicingArguments: ["first"])
  page(page: PageInput!): [Book!]! @listSize(slicingArguments: ["page.size"])
  authors: [Author!]!
  search(term: String! @cost(weight: 3), filter: BookFilter): [Book!]! @listSize(assumedSize: 2)
  byIds(ids: [ID!]! @cost(weight: 2)): [Book]
  expensive: Int @cost(weight: 7)
  rating: Rating
  node(id: ID!): Node
}

interface Node { id: ID! }

type Book implements Node {
  id: ID!
  title: String
  author: Author
  publisher: Publisher
  reviews: [Review!]!
}

type Author implements Node {
  id: ID!
  name: String
  books: [Book!]!
}

type Publisher {
  name: String
  address: Address
  headquarters: Address @cost(weight: 1)
}

type Address @cost(weight: 5) { zipCode: Int! }

type BookConnection { edges: [BookEdge!]! nodes: [Book!]! pageInfo: PageInfo! totalCount: Int }
type BookEdge { cursor: String! node: Book! }
type PageInfo { hasNextPage: Boolean! }
type Review { stars: Int! }

input BookFilter { genre: String @cost(weight: 4) year: Int }
input PageInput { size: Int after: String }
input BookInput { title: String! tags: [String!] }

enum Rating @cost(weight: 2) { GOOD BAD }

type Mutation {
  addBook(input: BookInput!): Book
  removeBook(id: ID!): Boolean
}
"""


COST_LINK = '@link(url: "https://specs.apollo.dev/cost/v0.1", import: ["@cost", "@listSize"])'


def supergraph_sdl(types: str = TYPES, *, cost: str = "cost", list_size: str = "listSize",
                   link: str | None = COST_LINK, roots: str = "query: Query mutation: Mutation") -> str:
    types = types.replace("@cost(", f"@{cost}(").replace("@listSize(", f"@{list_size}(")
    return f"""
schema
  @link(url: "https://specs.apollo.dev/link/v1.0")
  @link(url: "https://specs.apollo.dev/join/v0.3", for: EXECUTION)
  {link or ""}
{{ {roots} }}
{MACHINERY}
{COST_DEFINITIONS.format(cost=cost, list_size=list_size)}
{types}
"""


SUPERGRAPH = Supergraph(supergraph_sdl())
MODEL = CostModel.from_supergraph(SUPERGRAPH)


def cost(query: str, variables: dict[str, Any] | None = None, *, model: CostModel = MODEL,
         supergraph: Supergraph = SUPERGRAPH, operation_name: str | None = None, validated: bool = True) -> int:
    document = parse(query)
    if validated:
        assert validate(supergraph.api_schema, document) == []
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode)
                     and (operation_name is None or (d.name is not None and d.name.value == operation_name)))
    return estimate(model, supergraph.api_schema, document, operation, variables)


BOOK_SELECTION = "title author { name } publisher { name address { zipCode } }"


# reading the supergraph -------------------------------------------------------------------------------


def test_the_api_schema_drops_the_directives_the_model_reads_from_the_supergraph() -> None:
    assert "cost" not in {d.name for d in SUPERGRAPH.api_schema.directives}
    assert MODEL.type_weights == {"Address": 5, "Rating": 2}
    assert MODEL.field_weights == {("Publisher", "headquarters"): 1, ("Query", "expensive"): 7}
    assert MODEL.argument_weights == {("Query", "search", "term"): 3, ("Query", "byIds", "ids"): 2}
    assert MODEL.input_field_weights == {("BookFilter", "genre"): 4}
    assert MODEL.list_sizes[("Query", "bestsellers")] == ListSize(assumed_size=5)
    assert MODEL.list_sizes[("Query", "books")] == ListSize(
        slicing_arguments=("first", "last"), sized_fields=("edges", "nodes"))
    assert MODEL.list_sizes[("Query", "loose")].require_one_slicing_argument is False


@pytest.mark.parametrize(("link", "cost_name", "list_size_name"), [
    # imported under their own names
    (COST_LINK, "cost", "listSize"),
    # imported under other names
    ('@link(url: "https://specs.apollo.dev/cost/v0.1", import: [{name: "@cost", as: "@weight"}, '
     '{name: "@listSize", as: "@size"}])', "weight", "size"),
    # not imported: the spec's prefix
    ('@link(url: "https://specs.apollo.dev/cost/v0.1")', "cost__cost", "cost__listSize"),
    ('@link(url: "https://specs.apollo.dev/cost/v0.1", as: "demand")', "demand__cost", "demand__listSize"),
    # no link at all: the plain names and the federation__ names
    (None, "cost", "listSize"),
    (None, "federation__cost", "federation__listSize"),
])
def test_the_directives_are_found_under_any_name_the_supergraph_gives_them(
    link: str | None, cost_name: str, list_size_name: str
) -> None:
    supergraph = Supergraph(supergraph_sdl(cost=cost_name, list_size=list_size_name, link=link))
    model = CostModel.from_supergraph(supergraph)
    assert cost(f"{{ bestsellers {{ {BOOK_SELECTION} }} }}", model=model, supergraph=supergraph) == 40
    assert cost("{ search(term: \"x\") { title } }", model=model, supergraph=supergraph) == 2 + 3


def test_a_renamed_import_frees_the_plain_name() -> None:
    document = parse('schema @link(url: "https://specs.apollo.dev/cost/v0.1", import: [{name: "@cost", as: "@w"}]) '
                     "{ query: Query } type Query { a: Int }")
    cost_names, list_size_names = directive_names(document)
    assert "w" in cost_names and "cost" not in cost_names and "federation__cost" in cost_names
    assert "listSize" in list_size_names and "cost__listSize" in list_size_names


def test_string_and_float_weights_as_in_the_ibm_spec() -> None:
    types = 'type Query { a: Int @cost(weight: "2.5") b: Int @cost(weight: "2.5") c: Int @cost(weight: 0.25) }'
    sdl = supergraph_sdl(types, roots="query: Query").replace("weight: Int!", "weight: String!")
    sdl = sdl.replace("@cost(weight: 0.25)", '@cost(weight: "0.25")')
    supergraph = Supergraph(sdl)
    model = CostModel.from_supergraph(supergraph)
    assert cost("{ a }", model=model, supergraph=supergraph) == 3  # 2.5, rounded up
    assert cost("{ a b }", model=model, supergraph=supergraph) == 5
    assert cost("{ a b c }", model=model, supergraph=supergraph) == 6  # 5.25


# Apollo's worked examples -----------------------------------------------------------------------------


def test_defaults_objects_cost_one_scalars_nothing() -> None:
    query = f"query BookQuery {{ book(id: 1) {{ {BOOK_SELECTION} }} }}"
    # book 1 + author 1 + publisher 1 + address 1 (Apollo's example: 4)
    assert cost(query, model=CostModel()) == 4
    # Address @cost(weight: 5): 1 + 1 + 1 + 5 (Apollo's example: 8)
    assert cost(query) == 8


def test_assumed_size() -> None:
    # 5 * (book 1 + author 1 + publisher 1 + address 5)
    assert cost(f"{{ bestsellers {{ {BOOK_SELECTION} }} }}") == 40


def test_slicing_argument_from_a_literal() -> None:
    assert cost(f"{{ newestAdditions(limit: 3) {{ {BOOK_SELECTION} }} }}") == 24
    assert cost(f"{{ newestAdditions(limit: 7) {{ {BOOK_SELECTION} }} }}") == 56


def test_slicing_argument_from_variables_and_their_defaults() -> None:
    query = f"query($n: Int!) {{ newestAdditions(limit: $n) {{ {BOOK_SELECTION} }} }}"
    assert cost(query, {"n": 7}) == 56
    assert cost(query, {"n": 0}) == 0
    assert cost(query, {"n": -5}) == 0
    defaulted = f"query($n: Int! = 3) {{ newestAdditions(limit: $n) {{ {BOOK_SELECTION} }} }}"
    assert cost(defaulted) == 24
    assert cost(defaulted, {"n": 100}) == 800


def test_slicing_argument_default_from_the_schema() -> None:
    assert cost("{ defaulted { title author { name } } }") == 4 * 2
    assert cost("{ defaulted(first: 6) { title author { name } } }") == 6 * 2
    assert cost("query($f: Int) { defaulted(first: $f) { title author { name } } }") == 4 * 2


def test_slicing_argument_inside_an_input_object() -> None:
    # 4 books (page.size) + the PageInput argument (an input object: 1)
    assert cost('{ page(page: {size: 4, after: "x"}) { title } }') == 4 + 1
    assert cost("query($p: PageInput!) { page(page: $p) { title } }", {"p": {"size": 9}}) == 9 + 1


# lists ------------------------------------------------------------------------------------------------


def test_nested_lists_multiply() -> None:
    # authors: 10 (default size) x (author 1 + books: 10 x (book 1 + reviews: 10 x review 1))
    query = "{ authors { name books { title reviews { stars } } } }"
    assert cost(query) == 10 * (1 + 10 * (1 + 10 * 1))
    assert cost(query, model=CostModel(default_list_size=3)) == 3 * (1 + 3 * (1 + 3 * 1))


def test_sized_fields_on_a_connection() -> None:
    query = """{ books(first: 5) {
        totalCount pageInfo { hasNextPage } edges { cursor node { title author { name } } } nodes { title }
    } }"""
    # connection 1 + pageInfo 1 + edges: 5 x (edge 1 + node 1 + author 1) + nodes: 5 x 1
    assert cost(query) == 1 + 1 + 5 * 3 + 5 * 1
    assert cost(query.replace("first: 5", "last: 2")) == 1 + 1 + 2 * 3 + 2 * 1
    assert cost("query($n: Int) { books(first: $n) { edges { node { title } } } }", {"n": 50}) == 1 + 50 * 2


def test_sized_fields_reach_through_fragments() -> None:
    query = """
        { books(first: 5) { ...Conn ... on BookConnection { nodes { title } } } }
        fragment Conn on BookConnection { edges { node { title } } }
    """
    assert cost(query) == 1 + 5 * 2 + 5 * 1


def test_exactly_one_slicing_argument_is_required_unless_the_field_says_otherwise() -> None:
    for query in ("{ books { totalCount } }", "{ books(first: 2, last: 3) { totalCount } }"):
        with pytest.raises(CostEstimationError) as caught:
            cost(query)
        assert isinstance(caught.value, GraphQLError)
        assert caught.value.extensions == {"code": COST_QUERY_PARSE_FAILURE}
        assert "Query.books" in caught.value.message
    # A variable that is not given is no argument.
    with pytest.raises(CostEstimationError):
        cost("query($n: Int) { books(first: $n) { totalCount } }", {})
    # requireOneSlicingArgument: false takes the largest one
    assert cost("{ loose(first: 2, last: 3) { title } }") == 3
    assert cost("{ loose { title } }") == 10  # none: the default list size
    # a model can leave the rule out: without a slicing argument, edges take the default size
    lenient = CostModel.from_supergraph(SUPERGRAPH, enforce_slicing=False)
    assert cost("{ books { edges { cursor } } }", model=lenient) == 1 + 10 * 1
    assert cost("{ books(first: 2, last: 3) { edges { cursor } } }", model=lenient) == 1 + 3 * 1


# weights ----------------------------------------------------------------------------------------------


def test_weights_on_fields_types_and_enums() -> None:
    assert cost("{ expensive }") == 7
    assert cost("{ rating }") == 2  # enum type @cost
    # the field's own weight wins over its type's: headquarters 1 instead of Address's 5
    assert cost("{ book { publisher { address { zipCode } headquarters { zipCode } } } }") == 1 + 1 + 5 + 1


def test_weights_on_arguments_and_input_fields() -> None:
    # 2 books (assumedSize) + term 3
    assert cost('{ search(term: "x") { title } }') == 2 + 3
    # + filter: an input object 1 + genre 4 + year 0
    assert cost('{ search(term: "x", filter: {genre: "sf", year: 2001}) { title } }') == 2 + 3 + 1 + 4
    assert cost('query($f: BookFilter) { search(term: "x", filter: $f) { title } }', {"f": {"year": 1}}) == 2 + 3 + 1
    assert cost('query($f: BookFilter) { search(term: "x", filter: $f) { title } }', {"f": None}) == 2 + 3
    # a list argument: its weight plus each item's (as Apollo scores it): 2 + 3 x 2; 10 books of 1
    assert cost("{ byIds(ids: [1, 2, 3]) { title } }") == (2 + 3 * 2) + 10
    assert cost("query($ids: [ID!]!) { byIds(ids: $ids) { title } }", {"ids": ["1"]}) == (2 + 2) + 10


def test_mutations_cost_ten_per_root_field() -> None:
    # addBook: 10 + Book 1 + BookInput 1; removeBook: 10 + Boolean 0
    query = 'mutation { addBook(input: {title: "t", tags: ["a", "b"]}) { title } removeBook(id: 1) }'
    assert cost(query) == (10 + 1 + 1) + (10 + 0)
    assert cost('mutation { a: removeBook(id: 1) b: removeBook(id: 2) c: removeBook(id: 3) }') == 30
    assert cost("mutation { removeBook(id: 1) }", model=CostModel(mutation_cost=0)) == 0
    assert cost("mutation { removeBook(id: 1) __typename }") == 10


# selections -------------------------------------------------------------------------------------------


def test_skipped_and_excluded_selections_cost_nothing() -> None:
    query = f"""query($yes: Boolean!) {{
        a: book @skip(if: true) {{ {BOOK_SELECTION} }}
        b: book @include(if: $yes) {{ {BOOK_SELECTION} }}
        ... on Query @include(if: $yes) {{ c: book {{ title }} }}
        ...More @skip(if: $yes)
    }}
    fragment More on Query {{ d: book {{ title }} }}"""
    assert cost(query, {"yes": True}) == 8 + 1
    assert cost(query, {"yes": False}) == 1


def test_fragments_count_each_time_they_are_spread() -> None:
    query = """
        { bestsellers { ...B } again: bestsellers { ...B } book { ...B } }
        fragment B on Book { title author { name } }
    """
    assert cost(query) == 5 * 2 + 5 * 2 + 2


def test_abstract_types_sum_their_fragments() -> None:
    query = """{ node(id: 1) { id __typename
        ... on Book { author { name } publisher { address { zipCode } } }
        ... on Author { books { title } }
    } }"""
    # node 1 + (author 1 + publisher 1 + address 5) + books 10 x 1
    assert cost(query) == 1 + 7 + 10


def test_typename_and_introspection_cost_nothing_by_default() -> None:
    query = "{ __typename __schema { types { name fields { name } } } __type(name: \"Book\") { name } }"
    assert cost(query) == 0
    counted = CostModel(count_introspection=True)
    # __schema 1 + types 10 x (1 + fields 10 x 1) + __type 1
    assert cost(query, model=counted) == 1 + 10 * (1 + 10) + 1


def test_fragment_cycles_terminate() -> None:
    # Validation refuses cycles; the estimate must still end on an operation that skipped it.
    query = """
        { book { ...A } }
        fragment A on Book { author { name } ...B }
        fragment B on Book { publisher { name } ...A }
    """
    assert 2 <= cost(query, validated=False) <= 3


def test_a_fragment_bomb_is_costed_without_expanding_it() -> None:
    levels = 60
    fragments = "\n".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels))
    query = "{ ...F0 }\n" + fragments + f"\nfragment F{levels} on Query {{ bestsellers {{ title }} }}"
    assert cost(query, validated=False) == 2**levels * 5


def test_a_long_fragment_chain_does_not_exhaust_the_stack() -> None:
    count = 3000
    fragments = "\n".join(f"fragment F{i} on Book {{ author {{ ...A{i} }} }}\nfragment A{i} on Author "
                          f"{{ books {{ ...F{i + 1} }} }}" for i in range(count))
    query = "{ book { ...F0 } }\n" + fragments + f"\nfragment F{count} on Book {{ title }}"
    assert cost(query, model=CostModel(default_list_size=1), validated=False) == 1 + 2 * count


# checking ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("estimated", "refused"), [(999, False), (1000, False), (1001, True)])
def test_check_cost_at_below_and_above(estimated: int, refused: bool) -> None:
    error = check_cost(estimated, 1000)
    assert (error is not None) == refused
    if error is not None:
        assert error.extensions == {"code": COST_ESTIMATED_TOO_EXPENSIVE, "measured": 1001, "limit": 1000}
    assert check_cost(estimated, None) is None


# our supergraph, defaults only ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ours() -> Supergraph:
    return Supergraph(SCHEMA_GRAPHQL.read_text(encoding="utf-8"))


def test_our_supergraph_with_defaults_only(ours: Supergraph) -> None:
    model = CostModel.from_supergraph(ours)
    assert not model.field_weights and not model.list_sizes and not model.type_weights
    users = """{ users(first: 5) {
        edges { cursor node { id displayName organization { name } } } pageInfo { hasNextPage }
    } }"""
    # connection 1 + edges: 10 x (edge 1 + user 1 + organization 1) + pageInfo 1: `first` is not
    # known to size anything without @listSize
    assert cost(users, model=model, supergraph=ours) == 1 + 10 * 3 + 1
    tree = "{ organizations { nodes { name children { name children { name } } } } }"
    assert cost(tree, model=model, supergraph=ours) == 1 + 10 * (1 + 10 * (1 + 10 * 1))
    assert cost(tree, model=model, supergraph=ours) > 1000  # refused by a max_cost of 1000


def test_our_connections_sized_by_their_first_argument(ours: Supergraph) -> None:
    # What @listSize(slicingArguments: ["first"], sizedFields: ["edges", "nodes"]) on the connection fields
    # would give, configured on the model.
    relay = ListSize(slicing_arguments=("first",), sized_fields=("edges", "nodes"))
    model = CostModel(list_sizes={("Query", "users"): relay, ("Query", "organizations"): relay})
    query = "query($n: Int!) { users(first: $n) { edges { node { id organization { name } } } } }"
    assert cost(query, {"n": 5}, model=model, supergraph=ours) == 1 + 5 * 3
    assert cost(query, {"n": 100}, model=model, supergraph=ours) == 1 + 100 * 3
    # without `first`, the argument's default (20) sizes the edges
    assert cost("{ users { nodes { id } } }", model=model, supergraph=ours) == 1 + 20 * 1


# composition ------------------------------------------------------------------------------------------


def test_a_composed_supergraph_without_cost_directives() -> None:
    sdl = compose([SubgraphSource("books", "http://books.test/graphql", """
        extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
        type Query { books: [Book!]! book(id: ID!): Book }
        type Book @key(fields: "id") { id: ID! title: String author: Author }
        type Author { name: String }
    """)])
    supergraph = Supergraph(sdl)
    model = CostModel.from_supergraph(supergraph)
    assert cost("{ books { title author { name } } book(id: 1) { id } }", model=model, supergraph=supergraph) == (
        10 * 2 + 1)


def test_composition_keeps_cost_directives_for_the_cost_model() -> None:
    sdl = compose([SubgraphSource("books", "http://books.test/graphql", """
        extend schema @link(url: "https://specs.apollo.dev/federation/v2.9",
                            import: ["@key", "@cost", "@listSize"])
        type Query { books(first: Int = 5): [Book!]! @listSize(slicingArguments: ["first"]) @cost(weight: 3) }
        type Book @key(fields: "id") @cost(weight: 2) { id: ID! title: String }
    """)])
    supergraph = Supergraph(sdl)
    model = CostModel.from_supergraph(supergraph)
    assert "@cost(weight: 3)" in sdl and "@listSize" in sdl
    # books: 5 (first's default) x 3 (its weight)
    assert cost("{ books { title } }", model=model, supergraph=supergraph) == 15

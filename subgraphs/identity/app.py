"""identity as a subgraph: `uvicorn --factory subgraphs.identity.app:app`. Besides /graphql it serves the
authorization server (OAuth 2.0 / OIDC, CAS: docs/identity.md) and the IP blacklist for the router."""

from __future__ import annotations

from starlette.applications import Starlette

from subgraphs.common.app import SubgraphDefinition, create_app
from subgraphs.identity import models, oauth, seed
from subgraphs.identity.loaders import Loaders
from subgraphs.identity.schema import schema
from subgraphs.identity.security import routes as security_routes

definition = SubgraphDefinition(
    name="identity",
    schema=schema,
    base=models.Base,
    outbox=models.OutboxEvent,
    make_loaders=Loaders,
    seed=seed.seed,
    is_seeded=seed.is_seeded,
    extra_routes=lambda runtime: [*oauth.routes(runtime), *security_routes.routes(runtime)],
)


def app() -> Starlette:
    """ASGI factory (uvicorn --factory) so that importing the module opens no database."""
    return create_app(definition)

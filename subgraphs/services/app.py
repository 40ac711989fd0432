"""services as a subgraph: `uvicorn --factory subgraphs.services.app:app`."""

from __future__ import annotations

from starlette.applications import Starlette

from subgraphs.common.app import SubgraphDefinition, create_app
from subgraphs.services import events, models, seed
from subgraphs.services.loaders import Loaders
from subgraphs.services.schema import schema

definition = SubgraphDefinition(
    name="services",
    schema=schema,
    base=models.Base,
    outbox=models.OutboxEvent,
    make_loaders=Loaders,
    seed=seed.seed,
    is_seeded=seed.is_seeded,
    consumers=events.consumers,
)


def app() -> Starlette:
    """ASGI factory (uvicorn --factory) so that importing the module opens no database."""
    return create_app(definition)

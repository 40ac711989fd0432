"""population's GraphQL API by area; schema.py merges each module's `queries` and `mutations`."""

"""The HTTP side: Starlette app, GraphQL endpoint, health, readiness and metrics."""

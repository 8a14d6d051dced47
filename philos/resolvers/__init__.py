"""Thin async functions: context → loaders/stores → domain → GraphQL types."""

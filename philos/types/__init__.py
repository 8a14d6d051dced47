"""The GraphQL types: objects, inputs, payloads, enums, the request context and paging.

Below the resolvers: a type resolves its fields through the request's loaders and ports only."""

"""The GraphQL schema: the Query and Mutation fields, assembled by ``root.build_schema``."""

// The Neo4j GraphQL Library peer of the Philos benchmark: @neo4j/graphql on @apollo/server,
// one Node process, reading the graph Philos's Neo4j adapter writes.
//
//   node server.mjs --neo4j bolt://127.0.0.1:7687 --host 127.0.0.1 --port 4000
//
// The type definitions follow philos/datasources/neo4j.py: a concept is
// (:Concept {id, slug, name}) and a relation a relationship whose type is the RelationType
// value, with the relation's id, weight and the rest as properties. The library has no field
// over relationships of any type, so each of the ten types is a field of its own.
import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";
import { Neo4jGraphQL } from "@neo4j/graphql";
import neo4j from "neo4j-driver";

const TYPES = {
  ANALOGOUS_TO: "analogousTo",
  CONTRADICTS: "contradicts",
  DERIVES_FROM: "derivesFrom",
  ENTAILS: "entails",
  INFLUENCED_BY: "influencedBy",
  IS_A: "isA",
  OPPOSES: "opposes",
  PART_OF: "partOf",
  REFINES: "refines",
  RELATED_TO: "relatedTo",
};

const relationFields = Object.entries(TYPES)
  .map(
    ([type, field]) =>
      `  ${field}: [Concept!]! @relationship(type: "${type}", direction: OUT, properties: "Relation")`,
  )
  .join("\n");

const typeDefs = `
type Concept @node {
  id: ID!
  slug: String!
  name: String!
${relationFields}
}

type Relation @relationshipProperties {
  id: ID!
  weight: Float!
  note: String
  provenance: String
}
`;

function option(name, fallback) {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : fallback;
}

const driver = neo4j.driver(option("neo4j", "bolt://127.0.0.1:7687"), neo4j.auth.none());
const schema = await new Neo4jGraphQL({ typeDefs, driver }).getSchema();
const server = new ApolloServer({ schema, introspection: false });
const { url } = await startStandaloneServer(server, {
  listen: { host: option("host", "127.0.0.1"), port: Number(option("port", "4000")) },
});
console.log(`READY ${url}`);

for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, async () => {
    await server.stop();
    await driver.close();
    process.exit(0);
  });
}

// Composes the supergraph offline from the subgraphs' SDL files.
//
//   node compose.mjs <dir with users.graphql, concepts.graphql, ...> <supergraph out> [public out]
//
// Each subgraph is named as its service and located at its loopback port (4001-4005); the
// gateway's configuration (gateway.config.ts) points them elsewhere in a deployment.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "graphql";
import { composeServices } from "@theguild/federation-composition";

export const SUBGRAPHS = [
  ["users", "user-service", 4001],
  ["concepts", "concept-service", 4002],
  ["graph", "graph-service", 4003],
  ["theses", "thesis-service", 4004],
  ["ai", "claude-service", 4005],
];

const [dir, out, publicOut] = process.argv.slice(2);
if (!dir || !out) {
  console.error("usage: node compose.mjs <subgraph SDL dir> <supergraph out> [public out]");
  process.exit(2);
}
const services = SUBGRAPHS.map(([file, name, port]) => ({
  name,
  url: `http://127.0.0.1:${port}/graphql`,
  typeDefs: parse(readFileSync(join(dir, `${file}.graphql`), "utf8")),
}));
const result = composeServices(services);
if (result.errors && result.errors.length) {
  for (const error of result.errors) console.error(String(error.message ?? error));
  process.exit(1);
}
writeFileSync(out, result.supergraphSdl);
if (publicOut) writeFileSync(publicOut, result.publicSdl);

// Hive Gateway in front of the five Philos subgraphs (docs/federation.md).
//
// Settings come from the environment, with the monolith's names where the meaning is the same:
//   PHILOS_SUPERGRAPH            the composed supergraph (default: supergraph.graphql here)
//   USER_SERVICE_URL ...         where each subgraph answers (default: 127.0.0.1:4001-4005)
//   PHILOS_MAX_DEPTH, PHILOS_MAX_ALIASES, PHILOS_MAX_TOKENS, PHILOS_MAX_COST   query limits
//   PHILOS_ENV=production        no GraphiQL, no introspection, no field suggestions
import { fileURLToPath } from "node:url";
import { defineConfig } from "@graphql-hive/gateway";
import { unifiedGraphHandler } from "@graphql-hive/router-runtime";
import { GraphQLError } from "graphql";
import { maskError } from "graphql-yoga";
import { maxAliasesPlugin } from "@escape.tech/graphql-armor-max-aliases";
import { costLimitPlugin } from "./cost.mjs";

const here = (file) => fileURLToPath(new URL(file, import.meta.url));
const env = process.env;
const int = (name, fallback) => {
  const value = Number.parseInt(env[name] ?? "", 10);
  return Number.isFinite(value) ? value : fallback;
};

// Subgraph name (as composed), the variable that moves it, its loopback port.
export const SUBGRAPHS = [
  ["user-service", "USER_SERVICE_URL", 4001],
  ["concept-service", "CONCEPT_SERVICE_URL", 4002],
  ["graph-service", "GRAPH_SERVICE_URL", 4003],
  ["thesis-service", "THESIS_SERVICE_URL", 4004],
  ["claude-service", "CLAUDE_SERVICE_URL", 4005],
];
const locations = Object.fromEntries(
  SUBGRAPHS.map(([name, variable, port]) => [
    name,
    env[variable] || `http://127.0.0.1:${port}/graphql`,
  ]),
);
const READY_TIMEOUT_MS = 2000;
const production = env.PHILOS_ENV === "production";

// GET /ready: 200 when every subgraph's own /ready answers 200, else 503 naming the missing.
function subgraphReadiness() {
  return {
    async onRequest({ url, endResponse, fetchAPI }) {
      if (url.pathname !== "/ready") return;
      const checks = await Promise.all(
        Object.entries(locations).map(async ([name, location]) => {
          const target = new URL("/ready", location);
          try {
            const response = await fetchAPI.fetch(target, {
              signal: AbortSignal.timeout(READY_TIMEOUT_MS),
            });
            return [name, response.status === 200 ? "ok" : "unavailable"];
          } catch {
            return [name, "unavailable"];
          }
        }),
      );
      const subgraphs = Object.fromEntries(checks);
      const missing = checks.filter(([, state]) => state !== "ok").map(([name]) => name);
      const body = { status: missing.length ? "unavailable" : "ready", subgraphs, missing };
      endResponse(
        new fetchAPI.Response(JSON.stringify(body), {
          status: missing.length ? 503 : 200,
          headers: { "content-type": "application/json" },
        }),
      );
    },
  };
}

// A subgraph that could not be reached (down, refusing connections, timing out): its fields
// are null, and the error says which service failed, at the path of the object whose fields
// it owns. Every other unexpected error stays masked.
const SUBGRAPH_FAILURES = new Set(["SUBREQUEST_HTTP_ERROR", "DOWNSTREAM_SERVICE_ERROR"]);

function maskSubgraphFailures(error, message, isDev) {
  // Duck-typed: the gateway's packages may carry their own copy of graphql-js. The error's
  // own extensions (the subrequest, the connection error) are not the client's to see.
  if (SUBGRAPH_FAILURES.has(error?.extensions?.code)) {
    const service = String(error.extensions.serviceName ?? "a subgraph");
    return new GraphQLError(`${service} is unavailable`, {
      nodes: error.nodes,
      source: error.source,
      positions: error.positions,
      path: error.path,
      extensions: { code: "SUBGRAPH_UNAVAILABLE", serviceName: service },
    });
  }
  return maskError(error, message, isDev);
}

export const gatewayConfig = defineConfig({
  supergraph: env.PHILOS_SUPERGRAPH || here("./supergraph.graphql"),
  // Plans and runs each operation with Hive Router's query planner (Rust, a native addon in
  // the package) instead of the JavaScript stitching runtime: about half the gateway's CPU
  // per request on the benchmark's queries (docs/federation.md).
  unifiedGraphHandler,
  transportEntries: Object.fromEntries(
    Object.entries(locations).map(([name, location]) => [name, { location }]),
  ),
  // The caller's token reaches every subgraph, which checks it itself. The client's address
  // is appended to X-Forwarded-For, as a proxy does, so the subgraphs' sign-in and sign-up
  // throttles see clients, not the gateway (they trust it through FORWARDED_ALLOW_IPS).
  // X-Request-ID is forwarded (or made) by the gateway's request-id handling and returned to
  // the client.
  propagateHeaders: {
    fromClientToSubgraphs: ({ request, context }) => {
      const client = context?.req?.socket?.remoteAddress;
      const chain = [request.headers.get("x-forwarded-for"), client].filter(Boolean);
      return {
        authorization: request.headers.get("authorization") ?? undefined,
        "x-forwarded-for": chain.length ? chain.join(", ") : undefined,
      };
    },
  },
  maskedErrors: { maskError: maskSubgraphFailures },
  maxDepth: int("PHILOS_MAX_DEPTH", 10),
  maxTokens: int("PHILOS_MAX_TOKENS", 2000),
  // In production, as the monolith: no GraphiQL, no introspection, no "Did you mean".
  blockFieldSuggestions: production,
  graphiql: !production,
  landingPage: !production,
  ...(production ? { disableIntrospection: { disableIf: () => true } } : {}),
  healthCheckEndpoint: "/health",
  readinessCheckEndpoint: "/gateway-ready",
  prometheus: {
    endpoint: "/metrics",
    metrics: {
      graphql_gateway_fetch_duration: true,
      graphql_gateway_subgraph_execute_duration: true,
      graphql_gateway_subgraph_execute_errors: true,
      graphql_envelop_phase_execute: true,
      graphql_envelop_error_result: true,
    },
  },
  plugins: () => [
    subgraphReadiness(),
    maxAliasesPlugin({ n: int("PHILOS_MAX_ALIASES", 15) }),
    costLimitPlugin(int("PHILOS_MAX_COST", 100000)),
  ],
});

// Sends queries through Apollo Client's persisted-query link to the Philos at argv[2] and
// prints, as JSON, every HTTP request the link made and what came back.
import { createHash } from "node:crypto";
import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";

const url = `${process.argv[2]}/graphql`;
const sent = [];

async function recordingFetch(input, init = {}) {
  const target = new URL(typeof input === "string" ? input : input.url);
  const method = (init.method ?? "GET").toUpperCase();
  const body = method === "POST" ? JSON.parse(init.body) : Object.fromEntries(target.searchParams);
  const response = await fetch(input, init);
  const answer = await response.clone().json();
  sent.push({
    method,
    withQuery: Boolean(body.query),
    withHash: JSON.stringify(body.extensions ?? "").includes("sha256Hash"),
    status: response.status,
    code: answer.errors?.[0]?.extensions?.code ?? null,
    data: answer.data ?? null,
  });
  return response;
}

function client() {
  const sha256 = (text) => createHash("sha256").update(text).digest("hex");
  const link = new PersistedQueryLink({ sha256, useGETForHashedQueries: true }).concat(
    new HttpLink({ uri: url, fetch: recordingFetch }),
  );
  return new ApolloClient({ link, cache: new InMemoryCache() });
}

const FEW = gql`
  query Few($first: Int!) {
    concepts(first: $first) {
      edges {
        node {
          slug
        }
      }
    }
  }
`;

const rounds = [];
for (const round of ["cold", "warm"]) {
  const from = sent.length;
  const result = await client().query({ query: FEW, variables: { first: 2 }, fetchPolicy: "network-only" });
  rounds.push({ round, requests: sent.slice(from), slugs: result.data.concepts.edges.map((e) => e.node.slug) });
}
process.stdout.write(JSON.stringify(rounds));

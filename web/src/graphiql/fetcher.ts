import type { Fetcher } from "@graphiql/toolkit";

/** GraphiQL's requests: POST JSON to this origin's /graphql, with the headers typed in. */
export const fetcher: Fetcher = async (params, options) => {
  const response = await fetch("/graphql", {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json",
      ...(options?.headers ?? {}),
    },
    body: JSON.stringify(params),
  });
  return response.json();
};

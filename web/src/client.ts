import { Client, cacheExchange, fetchExchange } from "urql";
import type { AuthStore, Tokens } from "./auth";
import { Refresh } from "./operations";

export function makeClient(auth: AuthStore, url = "/graphql"): Client {
  const client = new Client({
    url,
    exchanges: [cacheExchange, fetchExchange],
    preferGetMethod: false,
    fetchOptions: (): RequestInit => {
      const token = auth.token();
      const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
      return { headers };
    },
  });
  auth.setRenew(async (refreshToken) => {
    const result = await client.mutation(Refresh, { refreshToken }).toPromise();
    const answer = result.data?.refreshToken;
    return answer?.__typename === "AuthSuccess" ? (answer as Tokens) : null;
  });
  return client;
}

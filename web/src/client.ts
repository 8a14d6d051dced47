import { Client, cacheExchange, fetchExchange, subscriptionExchange } from "urql";
import type { AuthStore, Tokens } from "./auth";
import { makeSocket, reconnects, socketUrl, type Reconnects } from "./live";
import { Refresh } from "./operations";

export function makeClient(auth: AuthStore, url = "/graphql", listeners: Reconnects = reconnects): Client {
  const socket = makeSocket(auth, socketUrl(url, window.location.href), listeners);
  const client = new Client({
    url,
    exchanges: [
      cacheExchange,
      fetchExchange,
      // Subscriptions only; queries and mutations stay plain HTTP requests.
      subscriptionExchange({
        forwardSubscription: (request) => ({
          subscribe: (sink) => ({ unsubscribe: socket.subscribe({ ...request, query: request.query ?? "" }, sink) }),
        }),
      }),
    ],
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

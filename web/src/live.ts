// The WebSocket that carries subscriptions (graphql-transport-ws on the same origin's /graphql).
//
// Why a WebSocket and not SSE: one socket carries every subscription of a page (a concept page
// holds three, plus an AI job's), where SSE needs one HTTP request each and HTTP/1.1 allows a
// browser six per origin; and the token travels in `connection_init`, not in a URL or a header
// an EventSource cannot set.
//
// The token: the socket is opened with the one signed in at that moment. When it changes
// (sign-in, sign-out, the renewal a minute before expiry) the socket is replaced at once, with no
// back-off, and graphql-ws subscribes every operation again on the new one. The server closes a
// socket whose token expired (4403) or on shutdown (1001): both are retried, with a back-off
// capped at 30 s. Events sent while no socket was open are lost, so every reconnection is
// announced (`Reconnects`) for pages to read afresh what they show.
import { createClient, type Client as WsClient } from "graphql-ws";
import type { AuthStore } from "./auth";

const MAX_WAIT_MS = 30_000;

/** Who wants to know that the socket came back after a drop or a token change. */
export class Reconnects {
  private listeners = new Set<() => void>();

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  emit(): void {
    for (const listener of [...this.listeners]) listener();
  }
}

/** The explorer's one set of reconnection listeners. */
export const reconnects = new Reconnects();

/** ws: or wss: for an address relative to the page, e.g. "/graphql". */
export function socketUrl(url: string, base: string): string {
  const address = new URL(url, base);
  address.protocol = address.protocol === "https:" ? "wss:" : "ws:";
  return address.toString();
}

/** What `connection_init` carries: the bearer token, or nothing for a reader. */
export function connectionParams(token: string | null): Record<string, string> {
  return token ? { Authorization: `Bearer ${token}` } : {};
}

/** Back-off before the n-th retry: 1, 2, 4 … s (capped), plus up to a second of jitter. */
export function retryDelay(retries: number, random: () => number = Math.random): number {
  return Math.min(MAX_WAIT_MS, 1000 * 2 ** retries) + Math.floor(random() * 1000);
}

export function makeSocket(
  auth: AuthStore,
  url: string,
  listeners: Reconnects = reconnects,
  webSocketImpl?: unknown,
): WsClient {
  // The token the open socket was initialised with; undefined while none is open.
  let used: string | null | undefined;
  let restarting = false;
  const socket = createClient({
    url,
    webSocketImpl,
    lazy: true,
    retryAttempts: Number.POSITIVE_INFINITY,
    retryWait: async (retries) => {
      if (restarting) {
        restarting = false;
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, retryDelay(retries)));
    },
    connectionParams: () => {
      used = auth.token();
      return connectionParams(used);
    },
    on: {
      connected: (_socket, _payload, wasRetry) => {
        if (wasRetry) listeners.emit();
      },
      closed: () => {
        used = undefined;
      },
    },
  });
  auth.subscribe(() => {
    if (used !== undefined && auth.token() !== used) {
      used = undefined;
      restarting = true;
      socket.terminate();
    }
  });
  return socket;
}

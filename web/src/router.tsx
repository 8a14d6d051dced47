// A small history router: the explorer's few routes need no library.
import { useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent } from "react";

export const BASE = "/app";

const listeners = new Set<() => void>();
function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  window.addEventListener("popstate", listener);
  return () => {
    listeners.delete(listener);
    window.removeEventListener("popstate", listener);
  };
}

function location(): string {
  return window.location.pathname + window.location.search;
}

export function navigate(to: string, replace = false): void {
  const url = to.startsWith(BASE) ? to : BASE + to;
  if (replace) window.history.replaceState(null, "", url);
  else window.history.pushState(null, "", url);
  document.documentElement.scrollTop = 0;
  for (const listener of listeners) listener();
}

export interface Route {
  /** The path below /app, without a trailing slash ("" for the start page). */
  path: string;
  query: URLSearchParams;
}

export function parse(href: string): Route {
  const url = new URL(href, "http://x");
  let path = url.pathname.startsWith(BASE) ? url.pathname.slice(BASE.length) : url.pathname;
  path = path.replace(/\/+$/, "");
  return { path, query: url.searchParams };
}

export function useRoute(): Route {
  const href = useSyncExternalStore(subscribe, location, () => "/app/");
  return parse(href);
}

type LinkProps = AnchorHTMLAttributes<HTMLAnchorElement> & { to: string };

export function Link({ to, onClick, ...rest }: LinkProps) {
  const href = BASE + to;
  const handle = (event: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(event);
    if (event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(href);
  };
  return <a href={href} onClick={handle} {...rest} />;
}

// A concept page kept current: it subscribes to the concept's changes, its theses' and its
// relations', and reads the page afresh after each (and after the socket reconnected, since
// what happened meanwhile was not pushed).
import { useEffect, useRef, useState } from "react";
import { useClient } from "urql";
import { pipe, subscribe } from "wonka";
import { reconnects as defaultReconnects, type Reconnects } from "./live";
import { ConceptChanged, RelationChanged, ThesisChanged } from "./operations";
import { navigate } from "./router";

export type Changed = "details" | "theses" | "relations" | "deleted";

/** Several events close together (an AI job's theses, say) make one refetch. */
export const SETTLE_MS = 150;
/** A change this soon after the page's own edit is that edit coming back: not announced. */
export const OWN_MS = 3000;
/** How long the notice stays. */
export const NOTICE_MS = 20000;

const ORDER: Changed[] = ["details", "theses", "relations"];

/** The notice's words for what changed. */
export function liveNotice(changed: ReadonlySet<Changed>): string {
  if (changed.has("deleted")) return "This concept was deleted just now.";
  const parts = ORDER.filter((c) => changed.has(c)).map((c) => `the ${c}`);
  const list = parts.length > 1 ? `${parts.slice(0, -1).join(", ")} and ${parts[parts.length - 1]}` : parts[0];
  return `Updated just now: ${list} changed.`;
}

export interface Notice {
  text: string;
  /** A fresh value for every notice, so the same words are announced again. */
  at: number;
}

export interface Live {
  notice: Notice | null;
  /** Call before refetching after one's own edit. */
  ownChange: () => void;
}

/** The concept the page shows, as far as its live updates need it. */
export interface Shown {
  id: string;
  slug: string;
  version: number;
}

export function useConceptLive(
  shown: Shown | null | undefined,
  slug: string,
  refresh: () => void,
  reconnects: Reconnects = defaultReconnects,
): Live {
  const client = useClient();
  const [notice, setNotice] = useState<Notice | null>(null);
  const own = useRef(0);
  const latest = useRef({ refresh, slug, version: shown?.version });
  latest.current = { refresh, slug, version: shown?.version };
  const conceptId = shown?.id;

  useEffect(() => {
    if (!notice) return undefined;
    const timer = setTimeout(() => setNotice(null), NOTICE_MS);
    return () => clearTimeout(timer);
  }, [notice]);

  useEffect(() => {
    if (!conceptId) return undefined;
    const pending = new Set<Changed>();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const flush = () => {
      const changed = new Set(pending);
      pending.clear();
      latest.current.refresh();
      if (Date.now() - own.current > OWN_MS) setNotice({ text: liveNotice(changed), at: Date.now() });
    };
    const changed = (what: Changed) => {
      pending.add(what);
      clearTimeout(timer);
      timer = setTimeout(flush, SETTLE_MS);
    };
    const streams = [
      pipe(
        client.subscription(ConceptChanged, { id: conceptId }),
        subscribe((result) => {
          const change = result.data?.conceptChanged;
          if (!change) return;
          const { version } = latest.current;
          // Already shown (the page was read after that save, e.g. one's own from the editor).
          if (change.kind === "UPDATED" && change.version != null && version != null && change.version <= version) return;
          if (change.kind === "DELETED") changed("deleted");
          else if (change.concept && change.concept.slug !== latest.current.slug) {
            navigate(`/concepts/${change.concept.slug}`, true); // renamed: follow it
          } else changed("details");
        }),
      ),
      pipe(
        client.subscription(ThesisChanged, { conceptId }),
        subscribe((result) => result.data && changed("theses")),
      ),
      pipe(
        client.subscription(RelationChanged, { conceptId }),
        subscribe((result) => result.data && changed("relations")),
      ),
    ];
    const unlisten = reconnects.subscribe(() => latest.current.refresh());
    return () => {
      clearTimeout(timer);
      unlisten();
      for (const stream of streams) stream.unsubscribe();
    };
  }, [client, conceptId, reconnects]);

  return { notice, ownChange: () => void (own.current = Date.now()) };
}

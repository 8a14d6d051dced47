import { lazy, Suspense, useCallback, useEffect, useRef, useState } from "react";
import { useClient, useQuery } from "urql";
import { ConceptPicker, type Picked } from "./ConceptPicker";
import { relationLabel } from "./format";
import { ConceptRoot, FindPath } from "./operations";
import { Alert, errorText } from "./problems";
import { Link, navigate, useRoute } from "./router";

const GraphView = lazy(() => import("./GraphView"));

/** A concept named by its slug in the address, looked up once. */
function usePicked(slug: string | null): [Picked | null, (p: Picked) => void] {
  const client = useClient();
  const [picked, setPicked] = useState<Picked | null>(null);
  // The slug last looked up: a concept picked by hand is not overwritten by the address.
  const looked = useRef<string | null>(null);
  useEffect(() => {
    if (!slug || looked.current === slug) return;
    looked.current = slug;
    if (picked?.slug === slug) return;
    void client.query(ConceptRoot, { slug }).toPromise().then((r) => {
      if (r.data?.concept) setPicked(r.data.concept);
    });
  }, [slug, client, picked]);
  return [picked, setPicked];
}

export function PathPage() {
  const { query } = useRoute();
  const [from, setFrom] = usePicked(query.get("from"));
  const [to, setTo] = usePicked(query.get("to"));
  const [maxDepth, setMaxDepth] = useState(6);
  const ready = Boolean(from && to && query.get("go"));
  const [result] = useQuery({
    query: FindPath,
    variables: { fromId: from?.id ?? "", toId: to?.id ?? "", maxDepth },
    pause: !ready,
  });
  const open = useCallback((slug: string) => navigate(`/concepts/${slug}`), []);
  const path = result.data?.path;
  const byId = new Map((path?.concepts ?? []).map((c) => [c.id, c]));

  return (
    <section className="path-page">
      <h1>Find a path between two concepts</h1>
      <form
        className="path-form"
        onSubmit={(event) => {
          event.preventDefault();
          if (from && to) navigate(`/path?from=${from.slug}&to=${to.slug}&go=1`, true);
        }}
      >
        {from !== null || !query.get("from") ? <ConceptPicker key={from?.id ?? "from"} label="From" value={from} onPick={setFrom} /> : null}
        {to !== null || !query.get("to") ? <ConceptPicker key={to?.id ?? "to"} label="To" value={to} onPick={setTo} /> : null}
        <label>
          At most
          <select value={maxDepth} onChange={(e) => setMaxDepth(Number(e.target.value))}>
            {[2, 3, 4, 5, 6].map((n) => (
              <option key={n} value={n}>
                {n} steps
              </option>
            ))}
          </select>
        </label>
        <button type="submit" disabled={!from || !to}>
          Find path
        </button>
      </form>
      <Alert>{result.error ? errorText(result.error) : null}</Alert>
      {ready && result.data && !path && <p role="status">No chain of at most {maxDepth} relations joins them.</p>}
      {path && (
        <>
          <h2>
            {path.length} step{path.length === 1 ? "" : "s"}
          </h2>
          <ol className="path-list" aria-label="The path">
            {path.concepts.map((c, i) => {
              const relation = path.relations[i];
              const next = path.concepts[i + 1];
              return (
                <li key={c.id}>
                  <Link to={`/concepts/${c.slug}`}>{c.name}</Link>
                  {relation && next && (
                    <span className="step">
                      {" "}
                      {relation.sourceId === c.id
                        ? `— ${relationLabel(relation.type)} →`
                        : `← ${relationLabel(relation.type)} —`}{" "}
                      <span className="visually-hidden">{byId.get(next.id)?.name}</span>
                    </span>
                  )}
                </li>
              );
            })}
          </ol>
          <Suspense fallback={<p aria-busy="true">Drawing…</p>}>
            <GraphView nodes={path.concepts} edges={path.relations} rootId={from?.id} onOpen={open} label="The path drawn as a graph" />
          </Suspense>
        </>
      )}
    </section>
  );
}

import { lazy, Suspense, useCallback, useMemo, useState } from "react";
import { useQuery } from "urql";
import { RELATION_TYPES } from "./relationTypes";
import { relationLabel, traditionColour } from "./format";
import type { RelationType } from "./gql/graphql";
import { ConceptGraph, ConceptRoot } from "./operations";
import { Alert, errorText } from "./problems";
import { Link, navigate } from "./router";

const GraphView = lazy(() => import("./GraphView"));

export function GraphPage({ slug }: { slug: string }) {
  const [root] = useQuery({ query: ConceptRoot, variables: { slug } });
  const [depth, setDepth] = useState(2);
  const [types, setTypes] = useState<RelationType[]>([]);
  const rootId = root.data?.concept?.id;
  const [graph] = useQuery({
    query: ConceptGraph,
    variables: { rootId: rootId ?? "", depth, types: types.length ? types : null },
    pause: !rootId,
  });
  const open = useCallback((target: string) => navigate(`/concepts/${target}`), []);
  const data = graph.data?.graph;
  const traditions = useMemo(
    () => [...new Set((data?.nodes ?? []).map((n) => n.tradition ?? "none"))].sort(),
    [data],
  );

  if (root.error) return <Alert>{errorText(root.error)}</Alert>;
  if (root.data && !root.data.concept) return <Alert>{`There is no concept “${slug}”.`}</Alert>;
  const name = root.data?.concept?.name ?? slug;
  return (
    <section className="graph-page">
      <h1>
        Around <Link to={`/concepts/${slug}`}>{name}</Link>
      </h1>
      <form className="graph-controls" onSubmit={(e) => e.preventDefault()} aria-label="Graph controls">
        <label>
          Depth
          <select value={depth} onChange={(e) => setDepth(Number(e.target.value))}>
            <option value={1}>1 step</option>
            <option value={2}>2 steps</option>
            <option value={3}>3 steps</option>
          </select>
        </label>
        <fieldset>
          <legend>Relation types (none ticked: all)</legend>
          {RELATION_TYPES.map((t) => (
            <label key={t} className="check">
              <input
                type="checkbox"
                checked={types.includes(t)}
                onChange={(e) => setTypes(e.target.checked ? [...types, t] : types.filter((x) => x !== t))}
              />
              {relationLabel(t)}
            </label>
          ))}
        </fieldset>
      </form>
      <Alert>{graph.error ? errorText(graph.error) : null}</Alert>
      {data ? (
        <>
          <p className="meta" aria-live="polite">
            {data.nodes.length} concepts, {data.edges.length} relations{data.truncated ? " (cut short: try less depth)" : ""}.
            Click a concept to open it; drag to move, scroll to zoom.
          </p>
          <Suspense fallback={<p aria-busy="true">Drawing…</p>}>
            <GraphView nodes={data.nodes} edges={data.edges} rootId={rootId} onOpen={open} label={`Graph of concepts around ${name}`} />
          </Suspense>
          <ul className="legend" aria-label="Traditions">
            {traditions.map((t) => (
              <li key={t}>
                <span className="swatch" style={{ background: traditionColour(t === "none" ? null : t) }} /> {t}
              </li>
            ))}
          </ul>
          <details>
            <summary>The concepts as a list</summary>
            <ul>
              {data.nodes.map((n) => (
                <li key={n.id}>
                  <Link to={`/concepts/${n.slug}`}>{n.name}</Link>
                </li>
              ))}
            </ul>
          </details>
        </>
      ) : (
        <p aria-busy="true">Loading…</p>
      )}
    </section>
  );
}

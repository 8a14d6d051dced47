import { useState, useSyncExternalStore } from "react";
import { useMutation, useQuery } from "urql";
import { AiPanel } from "./AiPanel";
import { auth, canEdit } from "./auth";
import { ConceptPicker, type Picked } from "./ConceptPicker";
import { era, relationLabel } from "./format";
import type { ConceptPageQuery, Polarity, RelationType, Stance } from "./gql/graphql";
import {
  AddArgument,
  ConceptPage as ConceptPageQueryDoc,
  CreateThesis,
  DeleteConcept,
  DeleteThesis,
  PublishThesis,
  RelateConcepts,
  RemoveArgument,
  RemoveRelation,
} from "./operations";
import { Alert, errorText, problemText, type Answer } from "./problems";
import { RELATION_TYPES } from "./relationTypes";
import { Link, navigate } from "./router";
import { useConceptLive, type Notice } from "./useLive";

type Concept = NonNullable<ConceptPageQuery["concept"]>;
type Relation = NonNullable<Concept["relations"]>[number];
type Thesis = NonNullable<Concept["theses"]>[number];

/** Says, politely, that the page changed under the reader's eyes (another person's edit). */
export function LiveNotice({ notice }: { notice: Notice | null }) {
  return (
    <p className="live-notice" role="status" aria-live="polite">
      {notice && <span key={notice.at}>{notice.text}</span>}
    </p>
  );
}

/** Relations grouped by type and direction, e.g. "influenced by" and "influences (incoming)". */
export function groupRelations(conceptId: string, relations: Relation[]): [string, Relation[]][] {
  const groups = new Map<string, Relation[]>();
  for (const relation of relations) {
    const outgoing = relation.sourceId === conceptId;
    const key = outgoing ? relationLabel(relation.type) : `${relationLabel(relation.type)} (incoming)`;
    groups.set(key, [...(groups.get(key) ?? []), relation]);
  }
  return [...groups.entries()].sort(([a], [b]) => a.localeCompare(b));
}

function useSession() {
  return useSyncExternalStore(auth.subscribe, auth.current);
}

/** Run a mutation and turn its answer into a message (null when it succeeded). */
function useAction() {
  const [message, setMessage] = useState<string | null>(null);
  const run = async (
    send: () => Promise<{ error?: import("urql").CombinedError; data?: Record<string, unknown> | null }>,
  ): Promise<boolean> => {
    const result = await send();
    if (result.error) {
      setMessage(errorText(result.error));
      return false;
    }
    const answer = Object.values(result.data ?? {})[0] as Answer | undefined;
    const problem = problemText(answer);
    setMessage(problem);
    return problem === null;
  };
  return { message, run, setMessage };
}

export function ConceptPage({ slug }: { slug: string }) {
  // Cached and then read again: a page seen earlier may have changed while it was not open
  // (and so not subscribed).
  const [result, reexecute] = useQuery({
    query: ConceptPageQueryDoc,
    variables: { slug },
    requestPolicy: "cache-and-network",
  });
  const session = useSession();
  const editor = canEdit(session.user);
  const refresh = () => reexecute({ requestPolicy: "network-only" });
  const live = useConceptLive(result.data?.concept, slug, refresh);
  const reload = () => {
    live.ownChange();
    refresh();
  };

  if (result.error) return <Alert>{errorText(result.error)}</Alert>;
  if (!result.data) return <p aria-busy="true">Loading…</p>;
  const concept = result.data.concept;
  if (!concept) {
    return (
      <>
        <LiveNotice notice={live.notice} />
        <section>
          <h1>Not found</h1>
          <p>
            There is no concept “{slug}”. <Link to="/">Search for it</Link>.
          </p>
        </section>
      </>
    );
  }
  const period = era(concept.eraFrom, concept.eraTo);
  // The notice sits at the same place whatever follows, so its live region stays one element.
  return (
    <>
      <LiveNotice notice={live.notice} />
      <article className="concept">
        <header>
          <h1>{concept.name}</h1>
          {concept.aliases.length > 0 && <p className="aliases">Also: {concept.aliases.join(", ")}</p>}
          <p className="meta">
            {[concept.tradition, period].filter(Boolean).join(" · ")}
            {concept.tags.length > 0 && (
              <>
                {" · "}
                {concept.tags.map((t) => (
                  <Link key={t} to={`/?tag=${encodeURIComponent(t)}`} className="tag">
                    {t}
                  </Link>
                ))}
              </>
            )}
          </p>
          <nav className="actions" aria-label="Concept views">
            <Link to={`/concepts/${concept.slug}/graph`}>Graph</Link>
            <Link to={`/path?from=${concept.slug}`}>Find a path from here</Link>
            {editor && <Link to={`/concepts/${concept.slug}/edit`}>Edit</Link>}
            {editor && <DeleteButton id={concept.id} name={concept.name} />}
          </nav>
        </header>
        <p className="lead">{concept.summary}</p>
        {concept.body.split(/\n\s*\n/).filter((p) => p.trim()).map((paragraph, i) => (
          <p key={i}>{paragraph}</p>
        ))}
        {concept.sepUrl && (
          <p>
            <a href={concept.sepUrl} rel="noreferrer">
              Stanford Encyclopedia of Philosophy entry
            </a>
          </p>
        )}
        <Relations concept={concept} editor={editor} onChange={reload} />
        <Theses concept={concept} editor={editor} onChange={reload} />
        {editor && <AiPanel conceptId={concept.id} onChange={reload} />}
      </article>
    </>
  );
}

function DeleteButton({ id, name }: { id: string; name: string }) {
  const [, remove] = useMutation(DeleteConcept);
  const { message, run } = useAction();
  return (
    <>
      <button
        type="button"
        className="danger"
        onClick={async () => {
          if (!window.confirm(`Delete “${name}” with its relations and theses?`)) return;
          if (await run(() => remove({ id }))) navigate("/");
        }}
      >
        Delete
      </button>
      <Alert>{message}</Alert>
    </>
  );
}

function Relations({ concept, editor, onChange }: { concept: Concept; editor: boolean; onChange: () => void }) {
  const relations = concept.relations ?? [];
  const [, relate] = useMutation(RelateConcepts);
  const [, unrelate] = useMutation(RemoveRelation);
  const { message, run } = useAction();
  const [target, setTarget] = useState<Picked | null>(null);
  const [type, setType] = useState<RelationType>("RELATED_TO");
  return (
    <section aria-labelledby="relations-heading">
      <h2 id="relations-heading">Relations</h2>
      {concept.relations === null && <Alert>The relationship graph is unavailable just now.</Alert>}
      {relations.length === 0 && concept.relations !== null && <p>No relations yet.</p>}
      {groupRelations(concept.id, relations).map(([label, group]) => (
        <div key={label} className="relation-group">
          <h3>{label}</h3>
          <ul>
            {group.map((r) => {
              const other = r.sourceId === concept.id ? r.target : r.source;
              return (
                <li key={r.id}>
                  {other ? <Link to={`/concepts/${other.slug}`}>{other.name}</Link> : <em>(missing)</em>}
                  {r.note ? <span className="meta"> — {r.note}</span> : null}
                  {editor && (
                    <button
                      type="button"
                      className="small"
                      aria-label={`Remove relation to ${other?.name ?? "concept"}`}
                      onClick={async () => {
                        if (await run(() => unrelate({ id: r.id }))) onChange();
                      }}
                    >
                      Remove
                    </button>
                  )}
                </li>
              );
            })}
          </ul>
        </div>
      ))}
      {editor && (
        <form
          className="inline-form"
          aria-label="Add a relation"
          onSubmit={async (event) => {
            event.preventDefault();
            if (!target) return;
            const ok = await run(() =>
              relate({ input: { sourceId: concept.id, targetId: target.id, type } }),
            );
            if (ok) onChange();
          }}
        >
          <label>
            Relation
            <select value={type} onChange={(e) => setType(e.target.value as RelationType)}>
              {RELATION_TYPES.map((t) => (
                <option key={t} value={t}>
                  {relationLabel(t)}
                </option>
              ))}
            </select>
          </label>
          <ConceptPicker label="Related concept" value={target} onPick={setTarget} />
          <button type="submit" disabled={!target}>
            Add relation
          </button>
        </form>
      )}
      <Alert>{message}</Alert>
    </section>
  );
}

function Theses({ concept, editor, onChange }: { concept: Concept; editor: boolean; onChange: () => void }) {
  const theses = concept.theses ?? [];
  const [, create] = useMutation(CreateThesis);
  const { message, run } = useAction();
  return (
    <section aria-labelledby="theses-heading">
      <h2 id="theses-heading">Theses</h2>
      {concept.theses === null && <Alert>The theses are unavailable just now.</Alert>}
      {theses.length === 0 && concept.theses !== null && <p>No theses yet.</p>}
      {theses.map((thesis) => (
        <ThesisCard key={thesis.id} thesis={thesis} editor={editor} onChange={onChange} />
      ))}
      {editor && (
        <form
          className="stack-form"
          aria-label="Add a thesis"
          onSubmit={async (event) => {
            event.preventDefault();
            const form = event.currentTarget;
            const data = new FormData(form);
            const ok = await run(() =>
              create({
                input: {
                  conceptId: concept.id,
                  statement: String(data.get("statement")),
                  stance: String(data.get("stance")) as Stance,
                },
              }),
            );
            if (ok) {
              form.reset();
              onChange();
            }
          }}
        >
          <h3>Add a thesis</h3>
          <label>
            Statement <textarea name="statement" required rows={2} />
          </label>
          <label>
            Stance
            <select name="stance" defaultValue="AFFIRMS">
              <option value="AFFIRMS">affirms</option>
              <option value="QUALIFIES">qualifies</option>
              <option value="DENIES">denies</option>
            </select>
          </label>
          <button type="submit">Add thesis</button>
        </form>
      )}
      <Alert>{message}</Alert>
    </section>
  );
}

function ThesisCard({ thesis, editor, onChange }: { thesis: Thesis; editor: boolean; onChange: () => void }) {
  const [, add] = useMutation(AddArgument);
  const [, removeArg] = useMutation(RemoveArgument);
  const [, removeThesis] = useMutation(DeleteThesis);
  const [, publish] = useMutation(PublishThesis);
  const { message, run } = useAction();
  const pro = thesis.arguments.filter((a) => a.polarity === "PRO");
  const con = thesis.arguments.filter((a) => a.polarity === "CON");
  const list = (title: string, items: Thesis["arguments"]) => (
    <div className="arguments">
      <h4>{title}</h4>
      {items.length === 0 ? (
        <p className="meta">None yet.</p>
      ) : (
        <ul>
          {items.map((a) => (
            <li key={a.id}>
              {a.text} <span className="meta">(strength {a.strength.toFixed(1)})</span>
              {editor && (
                <button
                  type="button"
                  className="small"
                  aria-label="Remove this argument"
                  onClick={async () => {
                    if (await run(() => removeArg({ thesisId: thesis.id, argumentId: a.id }))) onChange();
                  }}
                >
                  Remove
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
  return (
    <div className="thesis">
      <p className="statement">
        <span className={`stance ${thesis.stance.toLowerCase()}`}>{thesis.stance.toLowerCase()}</span>{" "}
        {thesis.statement}
        {thesis.status === "DRAFT" && <span className="badge">draft</span>}
        {thesis.provenance.kind === "AI" && <span className="badge">AI ({thesis.provenance.model})</span>}
      </p>
      <div className="pro-con">
        {list("For", pro)}
        {list("Against", con)}
      </div>
      {thesis.sources.length > 0 && (
        <ul className="sources">
          {thesis.sources.map((s, i) => (
            <li key={i}>
              {s.author}, <cite>{s.work}</cite>
              {s.year != null ? ` (${s.year < 0 ? `${-s.year} BCE` : s.year})` : ""}
            </li>
          ))}
        </ul>
      )}
      {editor && (
        <div className="editor-row">
          <form
            className="inline-form"
            aria-label="Add an argument"
            onSubmit={async (event) => {
              event.preventDefault();
              const form = event.currentTarget;
              const data = new FormData(form);
              const ok = await run(() =>
                add({
                  input: {
                    thesisId: thesis.id,
                    polarity: String(data.get("polarity")) as Polarity,
                    text: String(data.get("text")),
                  },
                }),
              );
              if (ok) {
                form.reset();
                onChange();
              }
            }}
          >
            <label>
              Argument <input name="text" required />
            </label>
            <label>
              For or against
              <select name="polarity" defaultValue="PRO">
                <option value="PRO">for</option>
                <option value="CON">against</option>
              </select>
            </label>
            <button type="submit">Add argument</button>
          </form>
          {thesis.status === "DRAFT" && (
            <button type="button" onClick={async () => (await run(() => publish({ id: thesis.id }))) && onChange()}>
              Publish
            </button>
          )}
          <button
            type="button"
            className="danger"
            onClick={async () => {
              if (window.confirm("Delete this thesis?") && (await run(() => removeThesis({ id: thesis.id })))) onChange();
            }}
          >
            Delete thesis
          </button>
        </div>
      )}
      <Alert>{message}</Alert>
    </div>
  );
}

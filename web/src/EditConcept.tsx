import { useState } from "react";
import { useMutation, useQuery } from "urql";
import type { ConceptPageQuery } from "./gql/graphql";
import { ConceptPage as ConceptPageDoc, CreateConcept, UpdateConcept } from "./operations";
import { Alert, errorText, problemText } from "./problems";
import { navigate } from "./router";

type Concept = NonNullable<ConceptPageQuery["concept"]>;

interface Draft {
  slug: string;
  name: string;
  summary: string;
  body: string;
  tradition: string;
  eraFrom: string;
  eraTo: string;
  tags: string;
  aliases: string;
}

function draftOf(concept: Concept | null): Draft {
  return {
    slug: concept?.slug ?? "",
    name: concept?.name ?? "",
    summary: concept?.summary ?? "",
    body: concept?.body ?? "",
    tradition: concept?.tradition ?? "",
    eraFrom: concept?.eraFrom?.toString() ?? "",
    eraTo: concept?.eraTo?.toString() ?? "",
    tags: concept?.tags.join(", ") ?? "",
    aliases: concept?.aliases.join(", ") ?? "",
  };
}

function list(text: string): string[] {
  return text.split(",").map((s) => s.trim()).filter(Boolean);
}

function year(text: string): number | null {
  return text.trim() === "" ? null : Number(text);
}

/** The input a create or update sends for what the form holds. */
export function inputOf(draft: Draft) {
  return {
    slug: draft.slug.trim(),
    name: draft.name.trim(),
    summary: draft.summary.trim(),
    body: draft.body,
    tradition: draft.tradition.trim() || null,
    eraFrom: year(draft.eraFrom),
    eraTo: year(draft.eraTo),
    tags: list(draft.tags),
    aliases: list(draft.aliases),
  };
}

export function EditConceptPage({ slug }: { slug: string }) {
  const [result, reexecute] = useQuery({ query: ConceptPageDoc, variables: { slug }, requestPolicy: "network-only" });
  if (result.error) return <Alert>{errorText(result.error)}</Alert>;
  if (!result.data) return <p aria-busy="true">Loading…</p>;
  if (!result.data.concept) return <Alert>{`There is no concept “${slug}”.`}</Alert>;
  return (
    <ConceptForm
      key={result.data.concept.version}
      concept={result.data.concept}
      reload={() => reexecute({ requestPolicy: "network-only" })}
    />
  );
}

export function NewConceptPage() {
  return <ConceptForm concept={null} reload={() => undefined} />;
}

interface Conflict {
  currentVersion: number | null;
}

function ConceptForm({ concept, reload }: { concept: Concept | null; reload: () => void }) {
  const [draft, setDraft] = useState<Draft>(draftOf(concept));
  const [version, setVersion] = useState(concept?.version ?? 0);
  const [conflict, setConflict] = useState<Conflict | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [, create] = useMutation(CreateConcept);
  const [, update] = useMutation(UpdateConcept);

  const save = async (atVersion: number) => {
    setMessage(null);
    setConflict(null);
    const input = inputOf(draft);
    if (concept === null) {
      const result = await create({ input });
      if (result.error) return setMessage(errorText(result.error));
      const answer = result.data!.createConcept;
      if (answer.__typename === "ConceptSuccess") return navigate(`/concepts/${answer.concept.slug}`);
      return setMessage(problemText(answer));
    }
    const result = await update({ input: { id: concept.id, version: atVersion, ...input } });
    if (result.error) return setMessage(errorText(result.error));
    const answer = result.data!.updateConcept;
    if (answer.__typename === "ConceptSuccess") return navigate(`/concepts/${answer.concept.slug}`);
    if (answer.__typename === "Conflict") return setConflict({ currentVersion: answer.currentVersion ?? null });
    setMessage(problemText(answer));
  };

  const field = (name: keyof Draft, label: string, options: { multiline?: boolean; hint?: string } = {}) => (
    <label>
      {label}
      {options.hint && <span className="meta"> ({options.hint})</span>}
      {options.multiline ? (
        <textarea name={name} rows={name === "body" ? 8 : 3} value={draft[name]} onChange={(e) => setDraft({ ...draft, [name]: e.target.value })} />
      ) : (
        <input name={name} value={draft[name]} onChange={(e) => setDraft({ ...draft, [name]: e.target.value })} />
      )}
    </label>
  );

  return (
    <form
      className="stack-form concept-form"
      onSubmit={(event) => {
        event.preventDefault();
        void save(version);
      }}
    >
      <h1>{concept ? `Edit ${concept.name}` : "New concept"}</h1>
      {field("name", "Name")}
      {field("slug", "Slug", { hint: "lowercase words joined by hyphens" })}
      {field("summary", "Summary", { multiline: true, hint: "up to 500 characters" })}
      {field("body", "Body", { multiline: true })}
      {field("tradition", "Tradition")}
      <div className="row">
        {field("eraFrom", "Era from", { hint: "year, negative for BCE" })}
        {field("eraTo", "Era to")}
      </div>
      {field("tags", "Tags", { hint: "comma-separated" })}
      {field("aliases", "Aliases", { hint: "comma-separated" })}
      {conflict && (
        <div className="conflict" role="alert">
          <p>
            Someone else changed this concept while you were editing
            {conflict.currentVersion != null ? ` (it is now at version ${conflict.currentVersion}, you started from ${version})` : ""}.
          </p>
          <button type="button" onClick={reload}>
            Reload their version (discard my changes)
          </button>
          <button
            type="button"
            className="danger"
            onClick={() => {
              const current = conflict.currentVersion ?? version;
              setVersion(current);
              void save(current);
            }}
          >
            Overwrite with my version
          </button>
        </div>
      )}
      <Alert>{message}</Alert>
      <button type="submit">{concept ? "Save changes" : "Create concept"}</button>
    </form>
  );
}

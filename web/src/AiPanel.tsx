import { useState } from "react";
import { useMutation, useQuery } from "urql";
import { relationLabel } from "./format";
import { AcceptSuggestion, GenerateTheses, PendingSuggestions, SuggestRelations } from "./operations";
import { Alert, errorText, problemText, type Answer } from "./problems";
import { Link } from "./router";

/** Sentence for an AI mutation's answer; "AI is not configured" said plainly. */
export function aiMessage(answer: Answer | null | undefined): string | null {
  if (answer?.__typename === "AiUnavailable") {
    return `AI is not configured on this server. ${answer.message ?? ""}`.trim();
  }
  return problemText(answer);
}

export function AiPanel({ conceptId, onChange }: { conceptId: string; onChange: () => void }) {
  const [generating, generate] = useMutation(GenerateTheses);
  const [suggesting, suggest] = useMutation(SuggestRelations);
  const [, accept] = useMutation(AcceptSuggestion);
  const [pending, refetch] = useQuery({ query: PendingSuggestions, variables: { conceptId } });
  const [dismissed, setDismissed] = useState<Set<string>>(new Set());
  const [message, setMessage] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const handle = (result: { error?: import("urql").CombinedError; data?: Record<string, unknown> | null }) => {
    if (result.error) {
      setMessage(errorText(result.error));
      return false;
    }
    const problem = aiMessage(Object.values(result.data ?? {})[0] as Answer);
    setMessage(problem);
    return problem === null;
  };
  const suggestions = (pending.data?.relationSuggestions ?? []).filter((s) => !dismissed.has(s.id));

  return (
    <section aria-labelledby="ai-heading" className="ai">
      <h2 id="ai-heading">AI assistance</h2>
      <div className="editor-row">
        <button
          type="button"
          disabled={generating.fetching}
          onClick={async () => {
            setNotice(null);
            const result = await generate({ conceptId, count: 2 });
            if (handle(result)) {
              const n = result.data?.generateTheses.__typename === "GenerateThesesSuccess" ? result.data.generateTheses.theses.length : 0;
              setNotice(`${n} draft thes${n === 1 ? "is" : "es"} added below for review: publish or delete each.`);
              onChange();
            }
          }}
        >
          {generating.fetching ? "Drafting…" : "Draft theses"}
        </button>
        <button
          type="button"
          disabled={suggesting.fetching}
          onClick={async () => {
            setNotice(null);
            if (handle(await suggest({ conceptId }))) refetch({ requestPolicy: "network-only" });
          }}
        >
          {suggesting.fetching ? "Asking…" : "Suggest relations"}
        </button>
      </div>
      <Alert>{message}</Alert>
      {notice && <p role="status">{notice}</p>}
      {suggestions.length > 0 && (
        <>
          <h3>Suggested relations</h3>
          <ul className="suggestions">
            {suggestions.map((s) => (
              <li key={s.id}>
                {s.source && <Link to={`/concepts/${s.source.slug}`}>{s.source.name}</Link>} {relationLabel(s.type)}{" "}
                {s.target && <Link to={`/concepts/${s.target.slug}`}>{s.target.name}</Link>}
                <p className="meta">{s.rationale}</p>
                <button
                  type="button"
                  onClick={async () => {
                    if (handle(await accept({ id: s.id }))) {
                      refetch({ requestPolicy: "network-only" });
                      onChange();
                    }
                  }}
                >
                  Accept
                </button>
                <button type="button" onClick={() => setDismissed(new Set([...dismissed, s.id]))}>
                  Dismiss
                </button>
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}

import { useEffect, useRef, useState } from "react";
import { useClient, useMutation, useQuery, type CombinedError } from "urql";
import { failureAnswer, followJob, type Following, type Job } from "./aiJobs";
import { relationLabel } from "./format";
import type { AiJobStatus } from "./gql/graphql";
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

const STATUS_WORDS: Record<AiJobStatus, string> = {
  QUEUED: "queued",
  RUNNING: "running",
  SUCCEEDED: "succeeded",
  FAILED: "failed",
};

export interface Progress {
  /** What the job does, e.g. "Drafting theses". */
  task: string;
  status: AiJobStatus;
}

/** A job's steps, QUEUED → RUNNING → SUCCEEDED or FAILED, the current one marked. */
export function JobProgress({ progress }: { progress: Progress }) {
  const last: AiJobStatus = progress.status === "FAILED" ? "FAILED" : "SUCCEEDED";
  const steps: AiJobStatus[] = ["QUEUED", "RUNNING", last];
  const at = steps.indexOf(progress.status);
  return (
    <ol className="job-steps" aria-label={`${progress.task}: progress`}>
      {steps.map((step, i) => (
        <li
          key={step}
          className={i < at ? "done" : i === at ? `current ${step.toLowerCase()}` : "todo"}
          aria-current={i === at ? "step" : undefined}
        >
          {STATUS_WORDS[step]}
        </li>
      ))}
    </ol>
  );
}

type Sent = { error?: CombinedError; data?: Record<string, unknown> | null };
type Payload = { __typename?: string; [field: string]: unknown };

export function AiPanel({ conceptId, onChange }: { conceptId: string; onChange: () => void }) {
  const client = useClient();
  const [, generate] = useMutation(GenerateTheses);
  const [, suggest] = useMutation(SuggestRelations);
  const [, accept] = useMutation(AcceptSuggestion);
  const [pending, refetch] = useQuery({ query: PendingSuggestions, variables: { conceptId } });
  const [dismissed, setDismissed] = useState<Set<string>>(new Set());
  const [message, setMessage] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [progress, setProgress] = useState<Progress | null>(null);
  const [busy, setBusy] = useState<"generate" | "suggest" | null>(null);
  const following = useRef<Following | null>(null);
  useEffect(() => () => following.current?.stop(), []);

  const handle = (result: Sent) => {
    if (result.error) {
      setMessage(errorText(result.error));
      return false;
    }
    const problem = aiMessage(Object.values(result.data ?? {})[0] as Answer);
    setMessage(problem);
    return problem === null;
  };

  /** Send an AI mutation and, when it was queued, follow the job to its result: the
   * success payload, or null after the failure was shown. */
  const run = async (task: string, send: () => Promise<Sent>): Promise<Payload | null> => {
    setNotice(null);
    setMessage(null);
    setProgress(null);
    const result = await send();
    if (!handle(result)) return null;
    const answer = Object.values(result.data ?? {})[0] as Payload & { job?: { id: string; status: AiJobStatus } };
    if (answer.__typename !== "AiJobQueued" || !answer.job) return answer;
    const update = (job: Pick<Job, "status">) => {
      setProgress({ task, status: job.status });
      setNotice(`${task}: ${STATUS_WORDS[job.status]}…`);
    };
    update(answer.job);
    following.current?.stop();
    following.current = followJob(client, answer.job.id, update);
    const job = await following.current.done;
    if (!job) {
      setNotice(null);
      setMessage("The AI job can no longer be read. Reload the page to see what it changed.");
      return null;
    }
    if (job.status === "FAILED") {
      setNotice(null);
      setMessage(aiMessage(failureAnswer(job)));
      return null;
    }
    return (job.result ?? {}) as Payload;
  };
  const suggestions = (pending.data?.relationSuggestions ?? []).filter((s) => !dismissed.has(s.id));

  return (
    <section aria-labelledby="ai-heading" className="ai">
      <h2 id="ai-heading">AI assistance</h2>
      <div className="editor-row">
        <button
          type="button"
          disabled={busy !== null}
          onClick={async () => {
            setBusy("generate");
            const success = await run("Drafting theses", () => generate({ conceptId, count: 2 }));
            setBusy(null);
            if (success) {
              const n = Array.isArray(success.theses) ? success.theses.length : 0;
              setNotice(`${n} draft thes${n === 1 ? "is" : "es"} added below for review: publish or delete each.`);
              onChange();
            }
          }}
        >
          {busy === "generate" ? "Drafting…" : "Draft theses"}
        </button>
        <button
          type="button"
          disabled={busy !== null}
          onClick={async () => {
            setBusy("suggest");
            const success = await run("Suggesting relations", () => suggest({ conceptId }));
            setBusy(null);
            if (success) {
              const n = Array.isArray(success.suggestions) ? success.suggestions.length : 0;
              setNotice(`${n} relation suggestion${n === 1 ? "" : "s"} to review below.`);
              refetch({ requestPolicy: "network-only" });
            }
          }}
        >
          {busy === "suggest" ? "Asking…" : "Suggest relations"}
        </button>
      </div>
      {progress && <JobProgress progress={progress} />}
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

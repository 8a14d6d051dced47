// Following a background AI job (`background: true`) from QUEUED to SUCCEEDED or FAILED.
import type { Client } from "urql";
import { onEnd, pipe, subscribe } from "wonka";
import type { AiJobProgressSubscription, AiJobStatus } from "./gql/graphql";
import { AiJob, AiJobProgress } from "./operations";
import type { Answer } from "./problems";

export type Job = AiJobProgressSubscription["aiJobProgress"];

const FINISHED: readonly AiJobStatus[] = ["SUCCEEDED", "FAILED"];
const POLL_MS = 1000;

export function finished(status: AiJobStatus): boolean {
  return FINISHED.includes(status);
}

/** A failed job's failure as the answer the synchronous mutation would have given. */
export function failureAnswer(job: Job): Answer {
  return { __typename: job.failure?.code ?? "AiFailed", message: job.failure?.message ?? "The AI job failed." };
}

export interface Following {
  /** The job once it finished; null when it cannot be read (gone, or not this user's). */
  done: Promise<Job | null>;
  stop: () => void;
}

/**
 * Follow a job through `aiJobProgress`, handing each state to `onUpdate`. Should the stream
 * fail or end before the job finished (a socket that could not be opened, say), the job is
 * read with `aiJob` every second instead, so the result still arrives.
 */
export function followJob(client: Client, jobId: string, onUpdate: (job: Job) => void): Following {
  let stopped = false;
  let polling = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stream: { unsubscribe: () => void } | undefined;
  let settle: (job: Job | null) => void = () => undefined;
  const stop = () => {
    stopped = true;
    clearTimeout(timer);
    stream?.unsubscribe();
  };
  const done = new Promise<Job | null>((resolve) => {
    settle = (job) => {
      if (stopped) return;
      stop();
      resolve(job);
    };
  });
  const seen = (job: Job) => {
    if (stopped) return;
    onUpdate(job);
    if (finished(job.status)) settle(job);
  };
  const poll = async () => {
    if (stopped) return;
    const result = await client.query(AiJob, { id: jobId }, { requestPolicy: "network-only" }).toPromise();
    if (stopped) return;
    const job = result.data?.aiJob;
    if (job) seen(job);
    else if (!result.error) settle(null);
    if (!stopped) timer = setTimeout(() => void poll(), POLL_MS);
  };
  const fallBack = () => {
    if (stopped || polling) return;
    polling = true;
    void poll();
  };
  stream = pipe(
    client.subscription(AiJobProgress, { jobId }),
    onEnd(fallBack),
    subscribe((result) => {
      if (result.error) fallBack();
      else if (result.data) seen(result.data.aiJobProgress);
    }),
  );
  if (stopped) stream.unsubscribe();
  return { done, stop };
}

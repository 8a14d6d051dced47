// A urql client for component tests: every query and mutation is answered by `answer`,
// synchronously, with no network; subscriptions stay open until the test `push`es an event
// to them or `end`s them.
import { fromValue, makeSubject, never, onEnd, pipe, type Subject } from "wonka";
import type { Client, OperationResult } from "urql";

type Answer = (name: string, variables: Record<string, unknown>) => Record<string, unknown> | null;

export interface Sent {
  name: string;
  variables: Record<string, unknown>;
}

export interface Mock {
  client: Client;
  sent: Sent[];
  /** Deliver an event to every open subscription named `name`. */
  push: (name: string, data: Record<string, unknown> | null, error?: Error) => void;
  /** End every open subscription named `name`, as the server does once a job finished. */
  end: (name: string) => void;
  /** The subscriptions open now, by operation name. */
  open: () => Sent[];
}

export function mockClient(answer: Answer): Mock {
  const sent: Sent[] = [];
  const streams: { request: Sent; subject: Subject<OperationResult>; closed: boolean }[] = [];
  const describe = (request: { query: unknown; variables?: unknown }): Sent => ({
    name: nameOf(request.query),
    variables: (request.variables ?? {}) as Record<string, unknown>,
  });
  const run = (request: { query: unknown; variables?: unknown }) => {
    const { name, variables } = describe(request);
    sent.push({ name, variables });
    const data = answer(name, variables);
    if (data === null) return never;
    return fromValue({ data, operation: request, stale: false, hasNext: false } as unknown as OperationResult);
  };
  const subscription = (query: unknown, variables: unknown) => {
    const request = describe({ query, variables });
    sent.push(request);
    const subject = makeSubject<OperationResult>();
    const stream = { request, subject, closed: false };
    streams.push(stream);
    return pipe(
      subject.source,
      onEnd(() => void (stream.closed = true)),
    );
  };
  const client = {
    executeQuery: run,
    executeMutation: run,
    executeSubscription: () => never,
    subscription,
    query: (query: unknown, variables: unknown) => ({ toPromise: () => Promise.resolve({ data: answer(nameOf(query), (variables ?? {}) as Record<string, unknown>) }) }),
    mutation: (query: unknown, variables: unknown) => ({ toPromise: () => Promise.resolve({ data: answer(nameOf(query), (variables ?? {}) as Record<string, unknown>) }) }),
  } as unknown as Client;
  const live = (name: string) => streams.filter((s) => s.request.name === name && !s.closed);
  return {
    client,
    sent,
    push: (name, data, error) => {
      for (const s of live(name)) s.subject.next({ data: data ?? undefined, error, stale: false, hasNext: true } as unknown as OperationResult);
    },
    end: (name) => {
      for (const s of live(name)) {
        s.closed = true;
        s.subject.complete();
      }
    },
    open: () => streams.filter((s) => !s.closed).map((s) => s.request),
  };
}

function nameOf(query: unknown): string {
  return (query as { definitions: { name?: { value: string } }[] }).definitions[0]?.name?.value ?? "";
}

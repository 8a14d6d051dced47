// A urql client for component tests: every query and mutation is answered by `answer`,
// synchronously, with no network.
import { never, fromValue } from "wonka";
import type { Client, OperationResult } from "urql";

type Answer = (name: string, variables: Record<string, unknown>) => Record<string, unknown> | null;

export interface Sent {
  name: string;
  variables: Record<string, unknown>;
}

export function mockClient(answer: Answer): { client: Client; sent: Sent[] } {
  const sent: Sent[] = [];
  const run = (request: { query: unknown; variables?: unknown }) => {
    const doc = request.query as { definitions: { name?: { value: string } }[] };
    const name = doc.definitions[0]?.name?.value ?? "";
    const variables = (request.variables ?? {}) as Record<string, unknown>;
    sent.push({ name, variables });
    const data = answer(name, variables);
    if (data === null) return never;
    return fromValue({ data, operation: request, stale: false, hasNext: false } as unknown as OperationResult);
  };
  const client = {
    executeQuery: run,
    executeMutation: run,
    executeSubscription: () => never,
    query: (query: unknown, variables: unknown) => ({ toPromise: () => Promise.resolve({ data: answer(nameOf(query), (variables ?? {}) as Record<string, unknown>) }) }),
    mutation: (query: unknown, variables: unknown) => ({ toPromise: () => Promise.resolve({ data: answer(nameOf(query), (variables ?? {}) as Record<string, unknown>) }) }),
  } as unknown as Client;
  return { client, sent };
}

function nameOf(query: unknown): string {
  return (query as { definitions: { name?: { value: string } }[] }).definitions[0]?.name?.value ?? "";
}

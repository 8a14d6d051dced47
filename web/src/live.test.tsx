// @vitest-environment jsdom
import { act, cleanup, fireEvent, render, screen } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Provider } from "urql";
import { AiPanel } from "./AiPanel";
import { followJob } from "./aiJobs";
import { AuthStore, auth } from "./auth";
import { ConceptPage } from "./ConceptPage";
import type { ConceptPageQuery } from "./gql/graphql";
import { Reconnects, connectionParams, makeSocket, retryDelay, socketUrl } from "./live";
import { mockClient } from "./test/mockClient";
import { NOTICE_MS, SETTLE_MS, liveNotice } from "./useLive";

const tokens = (accessToken: string) => ({
  accessToken,
  refreshToken: "r",
  expiresIn: 900,
  user: { id: "u", email: "e@x.y", displayName: "Ed", role: "EDITOR" as const },
});

/** Just enough of a WebSocket for graphql-ws; the test plays the server. */
class FakeSocket {
  static CONNECTING = 0;
  static OPEN = 1;
  static CLOSING = 2;
  static CLOSED = 3;
  static made: FakeSocket[] = [];
  readyState = FakeSocket.CONNECTING;
  sent: Record<string, unknown>[] = [];
  closedWith: number | null = null;
  onopen: (() => void) | null = null;
  onmessage: ((event: { data: string }) => void) | null = null;
  onclose: ((event: { code: number; reason: string; wasClean: boolean }) => void) | null = null;
  onerror: ((error: unknown) => void) | null = null;
  constructor(
    readonly url: string,
    readonly protocol: string,
  ) {
    FakeSocket.made.push(this);
  }
  send(data: string) {
    this.sent.push(JSON.parse(data) as Record<string, unknown>);
  }
  close(code: number, reason: string) {
    this.closedWith = code;
    this.readyState = FakeSocket.CLOSED;
    this.onclose?.({ code, reason, wasClean: true });
  }
  open() {
    this.readyState = FakeSocket.OPEN;
    this.onopen?.();
  }
  answer(message: Record<string, unknown>) {
    this.onmessage?.({ data: JSON.stringify(message) });
  }
}

/** Let graphql-ws's promises run. */
const settle = () => act(() => new Promise((resolve) => setTimeout(resolve, 0)));

const concept: NonNullable<ConceptPageQuery["concept"]> = {
  id: "c1",
  slug: "forms",
  name: "Theory of Forms",
  aliases: [],
  tradition: "Platonism",
  eraFrom: null,
  eraTo: null,
  summary: "Eternal patterns.",
  body: "",
  tags: [],
  version: 3,
  sepUrl: null,
  relations: [],
  theses: [],
};

beforeEach(() => window.history.replaceState(null, "", "/app/concepts/forms"));
afterEach(() => {
  cleanup();
  auth.signedOut();
  vi.useRealTimers();
  FakeSocket.made = [];
});

describe("the subscription socket", () => {
  it("lives on the page's origin, ws or wss as the page", () => {
    expect(socketUrl("/graphql", "http://127.0.0.1:8000/app/concepts/x")).toBe("ws://127.0.0.1:8000/graphql");
    expect(socketUrl("/graphql", "https://philos.example/app/")).toBe("wss://philos.example/graphql");
  });

  it("carries the token in connection_init, and nothing for a reader", () => {
    expect(connectionParams("abc")).toEqual({ Authorization: "Bearer abc" });
    expect(connectionParams(null)).toEqual({});
  });

  it("backs off exponentially up to 30 s", () => {
    expect([0, 1, 2, 10].map((n) => retryDelay(n, () => 0))).toEqual([1000, 2000, 4000, 30000]);
    expect(retryDelay(0, () => 0.999)).toBe(1999);
  });

  it("opens with the signed-in token and, when it changes, reconnects at once with the new one", async () => {
    const store = new AuthStore(null);
    store.signedIn(tokens("first"));
    const reconnects = new Reconnects();
    const heard = vi.fn();
    reconnects.subscribe(heard);
    const socket = makeSocket(store, "ws://127.0.0.1/graphql", reconnects, FakeSocket);
    const events: unknown[] = [];
    socket.subscribe({ query: "subscription { conceptChanged { id } }" }, { next: (v) => events.push(v), error: () => undefined, complete: () => undefined });
    await settle();
    const [first] = FakeSocket.made;
    expect(first.protocol).toBe("graphql-transport-ws");
    first.open();
    await settle();
    expect(first.sent[0]).toEqual({ type: "connection_init", payload: { Authorization: "Bearer first" } });
    first.answer({ type: "connection_ack" });
    await settle();
    const subscribed = first.sent[1] as { id: string; type: string };
    expect(subscribed.type).toBe("subscribe");
    expect(heard).not.toHaveBeenCalled();

    store.signedIn(tokens("second")); // the renewal a minute before expiry
    await settle();
    expect(first.closedWith).toBe(4499);
    expect(FakeSocket.made).toHaveLength(2); // no back-off wait
    const second = FakeSocket.made[1];
    second.open();
    await settle();
    expect(second.sent[0]).toEqual({ type: "connection_init", payload: { Authorization: "Bearer second" } });
    second.answer({ type: "connection_ack" });
    await settle();
    const again = second.sent[1] as { id: string; type: string; payload: { query: string } };
    expect(again.type).toBe("subscribe");
    expect(again.payload.query).toContain("conceptChanged");
    expect(heard).toHaveBeenCalledTimes(1); // pages read afresh what they missed
    second.answer({ type: "next", id: again.id, payload: { data: { conceptChanged: { id: "c1" } } } });
    expect(events).toEqual([{ data: { conceptChanged: { id: "c1" } } }]);

    store.signedIn(tokens("second")); // the same token: the socket stays
    await settle();
    expect(FakeSocket.made).toHaveLength(2);
    store.signedOut();
    await settle();
    expect(FakeSocket.made).toHaveLength(3); // a reader now
    FakeSocket.made[2].open();
    await settle();
    expect(FakeSocket.made[2].sent[0]).toEqual({ type: "connection_init", payload: {} });
    FakeSocket.made[2].answer({ type: "connection_ack" });
    await settle();
    await socket.dispose();
  }, 5000);
});

describe("liveNotice", () => {
  it("names what changed", () => {
    expect(liveNotice(new Set(["theses"]))).toBe("Updated just now: the theses changed.");
    expect(liveNotice(new Set(["relations", "details", "theses"]))).toBe(
      "Updated just now: the details, the theses and the relations changed.",
    );
    expect(liveNotice(new Set(["deleted", "theses"]))).toBe("This concept was deleted just now.");
  });
});

describe("ConceptPage, live", () => {
  const mount = (current = concept) => {
    const mock = mockClient((name) => (name === "ConceptPage" ? { concept: current } : { relationSuggestions: [] }));
    render(<Provider value={mock.client}><ConceptPage slug="forms" /></Provider>);
    const reads = () => mock.sent.filter((s) => s.name === "ConceptPage").length;
    return { ...mock, reads };
  };

  it("subscribes to the concept, its theses and its relations", () => {
    const { open } = mount();
    expect(open()).toEqual([
      { name: "ConceptChanged", variables: { id: "c1" } },
      { name: "ThesisChanged", variables: { conceptId: "c1" } },
      { name: "RelationChanged", variables: { conceptId: "c1" } },
    ]);
    const notice = screen.getByRole("status");
    expect(notice.getAttribute("aria-live")).toBe("polite");
    expect(notice.textContent).toBe("");
  });

  it("reads the page afresh after someone else's change, once for a burst, and says so", async () => {
    vi.useFakeTimers();
    const { push, reads } = mount();
    expect(reads()).toBe(1);
    act(() => {
      push("ThesisChanged", { thesisChanged: { kind: "CREATED", id: "t1", version: 1 } });
      push("ThesisChanged", { thesisChanged: { kind: "CREATED", id: "t2", version: 1 } });
      push("RelationChanged", { relationChanged: { kind: "CREATED", id: "r1" } });
    });
    expect(reads()).toBe(1);
    await act(() => vi.advanceTimersByTimeAsync(SETTLE_MS));
    expect(reads()).toBe(2);
    expect(screen.getByRole("status").textContent).toBe("Updated just now: the theses and the relations changed.");
    await act(() => vi.advanceTimersByTimeAsync(NOTICE_MS));
    expect(screen.getByRole("status").textContent).toBe("");
  });

  it("skips a concept change the page already shows and follows a new slug", async () => {
    vi.useFakeTimers();
    const { push, reads } = mount();
    act(() => push("ConceptChanged", { conceptChanged: { kind: "UPDATED", id: "c1", version: 3, concept: { id: "c1", slug: "forms" } } }));
    await act(() => vi.advanceTimersByTimeAsync(SETTLE_MS));
    expect(reads()).toBe(1);
    act(() => push("ConceptChanged", { conceptChanged: { kind: "UPDATED", id: "c1", version: 4, concept: { id: "c1", slug: "forms" } } }));
    await act(() => vi.advanceTimersByTimeAsync(SETTLE_MS));
    expect(reads()).toBe(2);
    expect(screen.getByRole("status").textContent).toContain("the details changed");
    act(() => push("ConceptChanged", { conceptChanged: { kind: "UPDATED", id: "c1", version: 5, concept: { id: "c1", slug: "ideas" } } }));
    expect(window.location.pathname).toBe("/app/concepts/ideas");
  });

  it("does not announce the echo of one's own edit, but still reads it", async () => {
    auth.signedIn(tokens("a"));
    const { push, reads } = mount();
    fireEvent.change(screen.getByLabelText("Statement"), { target: { value: "Forms are the causes of being." } });
    await act(async () => fireEvent.submit(screen.getByRole("form", { name: "Add a thesis" })));
    const before = reads();
    act(() => push("ThesisChanged", { thesisChanged: { kind: "CREATED", id: "t9", version: 1 } }));
    await act(() => new Promise((resolve) => setTimeout(resolve, SETTLE_MS + 50)));
    expect(reads()).toBe(before + 1);
    expect(screen.getByRole("status").textContent).toBe("");
  });

  it("says the concept was deleted", async () => {
    vi.useFakeTimers();
    let current: typeof concept | null = concept;
    const mock = mockClient((name) => (name === "ConceptPage" ? { concept: current } : null));
    render(<Provider value={mock.client}><ConceptPage slug="forms" /></Provider>);
    current = null;
    act(() => mock.push("ConceptChanged", { conceptChanged: { kind: "DELETED", id: "c1", version: 4, concept: null } }));
    await act(() => vi.advanceTimersByTimeAsync(SETTLE_MS));
    expect(screen.getByRole("heading", { name: "Not found" })).toBeTruthy();
    expect(screen.getByRole("status").textContent).toBe("This concept was deleted just now.");
    expect(mock.open()).toEqual([]); // nothing left to follow
  });

  it("stops listening when the page goes", () => {
    const { open } = mount();
    cleanup();
    expect(open()).toEqual([]);
  });
});

describe("AI jobs", () => {
  const queued = (mutation: string) => ({ [mutation]: { __typename: "AiJobQueued", job: { id: "j1", status: "QUEUED" } } });
  const job = (status: string, extra: Record<string, unknown> = {}) => ({
    aiJobProgress: { id: "j1", status, failure: null, result: null, ...extra },
  });

  it("shows the job's steps as it runs, then its result", async () => {
    auth.signedIn(tokens("a"));
    const onChange = vi.fn();
    const mock = mockClient((name) => (name === "PendingSuggestions" ? { relationSuggestions: [] } : queued("generateTheses")));
    render(<Provider value={mock.client}><AiPanel conceptId="c1" onChange={onChange} /></Provider>);
    await act(async () => fireEvent.click(screen.getByRole("button", { name: "Draft theses" })));
    expect(mock.sent.find((s) => s.name === "GenerateTheses")?.variables).toEqual({ conceptId: "c1", count: 2 });
    expect(mock.open()).toContainEqual({ name: "AiJobProgress", variables: { jobId: "j1" } });
    const steps = () => screen.getByRole("list", { name: "Drafting theses: progress" });
    const current = () => steps().querySelector("[aria-current=step]")?.textContent;
    expect(current()).toBe("queued");
    expect(screen.getByRole("status").textContent).toBe("Drafting theses: queued…");
    expect(screen.getByRole("button", { name: "Drafting…" })).toHaveProperty("disabled", true);

    await act(async () => mock.push("AiJobProgress", job("RUNNING")));
    expect(current()).toBe("running");
    expect(screen.getByRole("status").textContent).toBe("Drafting theses: running…");
    expect(onChange).not.toHaveBeenCalled();

    const theses = [{ id: "t1", statement: "One." }, { id: "t2", statement: "Two." }];
    await act(async () => mock.push("AiJobProgress", job("SUCCEEDED", { result: { __typename: "GenerateThesesSuccess", theses } })));
    expect(current()).toBe("succeeded");
    expect(screen.getByRole("status").textContent).toContain("2 draft theses added below");
    expect(onChange).toHaveBeenCalledTimes(1);
    expect(mock.open().filter((s) => s.name === "AiJobProgress")).toEqual([]);
    expect(screen.getByRole("button", { name: "Draft theses" })).toHaveProperty("disabled", false);
  });

  it("shows a failed job's typed failure as the synchronous answer would", async () => {
    auth.signedIn(tokens("a"));
    const mock = mockClient((name) => (name === "PendingSuggestions" ? { relationSuggestions: [] } : queued("suggestRelations")));
    render(<Provider value={mock.client}><AiPanel conceptId="c1" onChange={() => undefined} /></Provider>);
    await act(async () => fireEvent.click(screen.getByRole("button", { name: "Suggest relations" })));
    await act(async () => mock.push("AiJobProgress", job("FAILED", { failure: { code: "AiUnavailable", message: "Set ANTHROPIC_API_KEY." } })));
    expect(screen.getByRole("alert").textContent).toBe("AI is not configured on this server. Set ANTHROPIC_API_KEY.");
    const steps = screen.getByRole("list", { name: "Suggesting relations: progress" });
    expect(steps.querySelector("[aria-current=step]")?.textContent).toBe("failed");
    expect(screen.queryByRole("status")).toBeNull();
  });

  it("reads the job instead when the stream ends before it finished", async () => {
    let reads = 0;
    const mock = mockClient((name) => {
      if (name !== "AiJob") return null;
      reads += 1;
      return { aiJob: { id: "j1", status: reads < 2 ? "RUNNING" : "SUCCEEDED", failure: null, result: null } };
    });
    const seen: string[] = [];
    const following = followJob(mock.client, "j1", (j) => seen.push(j.status));
    mock.push("AiJobProgress", job("QUEUED"));
    mock.end("AiJobProgress");
    const done = await following.done;
    expect(done?.status).toBe("SUCCEEDED");
    expect(seen).toEqual(["QUEUED", "RUNNING", "SUCCEEDED"]);
    expect(reads).toBe(2);
  });

  it("gives up on a job it may not read", async () => {
    const mock = mockClient((name) => (name === "AiJob" ? { aiJob: null } : null));
    const following = followJob(mock.client, "j1", () => undefined);
    mock.end("AiJobProgress");
    expect(await following.done).toBeNull();
  });
});

// @vitest-environment jsdom
import { act, cleanup, fireEvent, render, screen } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Provider } from "urql";
import { AiPanel, aiMessage } from "./AiPanel";
import { auth } from "./auth";
import { ConceptPage, groupRelations } from "./ConceptPage";
import { EditConceptPage } from "./EditConcept";
import { SearchPage } from "./SearchPage";
import type { ConceptPageQuery } from "./gql/graphql";
import { mockClient } from "./test/mockClient";

const concept: NonNullable<ConceptPageQuery["concept"]> = {
  id: "c1",
  slug: "forms",
  name: "Theory of Forms",
  aliases: ["Ideas"],
  tradition: "Platonism",
  eraFrom: -387,
  eraTo: -347,
  summary: "Eternal patterns.",
  body: "First paragraph.\n\nSecond paragraph.",
  tags: ["metaphysics"],
  version: 3,
  sepUrl: null,
  relations: [
    { id: "r1", type: "INFLUENCED_BY", weight: 0.5, note: null, sourceId: "c1", targetId: "c2", source: { id: "c1", slug: "forms", name: "Theory of Forms" }, target: { id: "c2", slug: "logos", name: "Logos" } },
    { id: "r2", type: "OPPOSES", weight: 0.5, note: null, sourceId: "c3", targetId: "c1", source: { id: "c3", slug: "nominalism", name: "Nominalism" }, target: { id: "c1", slug: "forms", name: "Theory of Forms" } },
    { id: "r3", type: "OPPOSES", weight: 0.5, note: null, sourceId: "c4", targetId: "c1", source: { id: "c4", slug: "hylomorphism", name: "Hylomorphism" }, target: { id: "c1", slug: "forms", name: "Theory of Forms" } },
  ],
  theses: [
    {
      id: "t1",
      statement: "Forms are real.",
      stance: "AFFIRMS",
      status: "PUBLISHED",
      provenance: { kind: "HUMAN", model: null },
      arguments: [
        { id: "a1", polarity: "PRO", text: "Knowledge needs stable objects.", strength: 0.7 },
        { id: "a2", polarity: "CON", text: "The third man.", strength: 0.6 },
      ],
      sources: [{ author: "Plato", work: "Phaedo", year: -380, url: null }],
    },
  ],
};

const editor = { accessToken: "a", refreshToken: "r", expiresIn: 900, user: { id: "u", email: "e@x.y", displayName: "Ed", role: "EDITOR" as const } };

beforeEach(() => window.history.replaceState(null, "", "/app/"));
afterEach(() => {
  cleanup();
  auth.signedOut();
});

describe("groupRelations", () => {
  it("groups by type and direction", () => {
    const groups = groupRelations("c1", concept.relations ?? []);
    expect(groups.map(([label, items]) => [label, items.length])).toEqual([
      ["influenced by", 1],
      ["opposes (incoming)", 2],
    ]);
  });
});

describe("ConceptPage", () => {
  it("shows the concept, its relations as links and its theses with arguments and sources", () => {
    const { client } = mockClient(() => ({ concept }));
    render(<Provider value={client}><ConceptPage slug="forms" /></Provider>);
    expect(screen.getByRole("heading", { level: 1 }).textContent).toBe("Theory of Forms");
    expect(screen.getByText("Also: Ideas")).toBeTruthy();
    expect(screen.getByText("Second paragraph.")).toBeTruthy();
    expect(screen.getByRole("link", { name: "Logos" }).getAttribute("href")).toBe("/app/concepts/logos");
    expect(screen.getByRole("heading", { name: "opposes (incoming)" })).toBeTruthy();
    expect(screen.getByText("Knowledge needs stable objects.")).toBeTruthy();
    expect(screen.getByText("Phaedo")).toBeTruthy();
    expect(screen.queryByRole("link", { name: "Edit" })).toBeNull(); // readers do not edit
  });

  it("offers editing to an editor", () => {
    auth.signedIn(editor);
    const { client } = mockClient((name) => (name === "PendingSuggestions" ? { relationSuggestions: [] } : { concept }));
    render(<Provider value={client}><ConceptPage slug="forms" /></Provider>);
    expect(screen.getByRole("link", { name: "Edit" })).toBeTruthy();
    expect(screen.getByRole("form", { name: "Add a relation" })).toBeTruthy();
    expect(screen.getAllByRole("button", { name: "Remove this argument" })).toHaveLength(2);
  });

  it("says when there is no such concept", () => {
    const { client } = mockClient(() => ({ concept: null }));
    render(<Provider value={client}><ConceptPage slug="nothing" /></Provider>);
    expect(screen.getByRole("heading", { name: "Not found" })).toBeTruthy();
  });
});

describe("SearchPage", () => {
  it("searches as one types and shows facets with counts", async () => {
    vi.useFakeTimers();
    const { client, sent } = mockClient(() => ({
      concepts: {
        totalCount: 1,
        pageInfo: { hasNextPage: false, endCursor: null },
        facets: { traditions: [{ name: "Kantianism", conceptCount: 1 }], tags: [{ name: "ethics", conceptCount: 1 }], eras: [] },
        nodes: [{ id: "k", slug: "categorical-imperative", name: "Categorical imperative", tradition: "Kantianism", eraFrom: 1785, eraTo: 1797, summary: "Act only…", searchHighlight: "«Categorical» imperative" }],
      },
    }));
    render(<Provider value={client}><SearchPage /></Provider>);
    fireEvent.change(screen.getByRole("searchbox"), { target: { value: "categorical" } });
    await act(() => vi.advanceTimersByTimeAsync(200));
    vi.useRealTimers();
    const last = sent[sent.length - 1];
    expect((last.variables.filter as { search: string }).search).toBe("categorical");
    expect(screen.getByText("1 concept")).toBeTruthy();
    expect(screen.getByRole("button", { name: "Kantianism 1" })).toBeTruthy();
    expect(document.querySelector("mark")?.textContent).toBe("Categorical");
    expect(window.location.search).toBe("?q=categorical");
  });
});

describe("AiPanel", () => {
  it("says plainly that AI is not configured", async () => {
    expect(aiMessage({ __typename: "AiUnavailable", message: "Set ANTHROPIC_API_KEY." })).toBe(
      "AI is not configured on this server. Set ANTHROPIC_API_KEY.",
    );
    const { client } = mockClient((name) =>
      name === "PendingSuggestions"
        ? { relationSuggestions: [] }
        : { generateTheses: { __typename: "AiUnavailable", message: "Set ANTHROPIC_API_KEY to enable AI." } },
    );
    render(<Provider value={client}><AiPanel conceptId="c1" onChange={() => undefined} /></Provider>);
    await act(async () => fireEvent.click(screen.getByRole("button", { name: "Draft theses" })));
    expect(screen.getByRole("alert").textContent).toContain("AI is not configured");
  });

  it("puts rate limits in words with the wait", () => {
    expect(aiMessage({ __typename: "AiRateLimited", message: "Too many AI requests.", retryAfterSeconds: 30 })).toBe(
      "Too many AI requests. Try again in 30 s.",
    );
  });
});

describe("EditConceptPage", () => {
  it("shows a version conflict and overwrites only when asked, at the current version", async () => {
    let updates = 0;
    const { client, sent } = mockClient((name) => {
      if (name === "ConceptPage") return { concept };
      updates += 1;
      return updates === 1
        ? { updateConcept: { __typename: "Conflict", message: "Changed meanwhile.", currentVersion: 5 } }
        : { updateConcept: { __typename: "ConceptSuccess", concept: { id: "c1", slug: "forms", version: 6 } } };
    });
    render(<Provider value={client}><EditConceptPage slug="forms" /></Provider>);
    fireEvent.change(screen.getByLabelText("Name"), { target: { value: "Forms" } });
    await act(async () => fireEvent.click(screen.getByRole("button", { name: "Save changes" })));
    expect(screen.getByRole("alert").textContent).toContain("now at version 5, you started from 3");
    await act(async () => fireEvent.click(screen.getByRole("button", { name: "Overwrite with my version" })));
    const saves = sent.filter((s) => s.name === "UpdateConcept").map((s) => s.variables.input as { version: number; name: string });
    expect(saves.map((s) => [s.version, s.name])).toEqual([
      [3, "Forms"],
      [5, "Forms"],
    ]);
    expect(window.location.pathname).toBe("/app/concepts/forms");
  });
});

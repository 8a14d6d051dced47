import { useEffect, useState } from "react";
import { useQuery } from "urql";
import { era, highlightPieces } from "./format";
import type { ConceptFilter } from "./gql/graphql";
import { SearchConcepts } from "./operations";
import { Alert, errorText } from "./problems";
import { Link, navigate, useRoute } from "./router";
import { useDebounced } from "./useDebounced";

function Highlight({ text }: { text: string }) {
  return (
    <>
      {highlightPieces(text).map((piece, i) =>
        piece.matched ? <mark key={i}>{piece.text}</mark> : <span key={i}>{piece.text}</span>,
      )}
    </>
  );
}

function toNumber(value: string | null): number | null {
  if (value == null || value.trim() === "") return null;
  const n = Number(value);
  return Number.isInteger(n) ? n : null;
}

export function SearchPage() {
  const { query } = useRoute();
  const [text, setText] = useState(query.get("q") ?? "");
  const q = query.get("q") ?? "";
  // Back and forward change the address, not what was typed: follow the address.
  useEffect(() => {
    setText((typed) => (typed.trim() === q ? typed : q));
  }, [q]);
  const search = useDebounced(text.trim(), 120);
  const tradition = query.get("tradition");
  const tag = query.get("tag");
  const eraFrom = toNumber(query.get("from"));
  const eraTo = toNumber(query.get("to"));
  const filter: ConceptFilter = {
    search: search || null,
    tradition,
    tags: tag ? [tag] : null,
    eraFrom,
    eraTo,
  };
  const [result] = useQuery({ query: SearchConcepts, variables: { filter, first: 30 } });
  const concepts = result.data?.concepts;

  const update = (changes: Record<string, string | null>) => {
    const next = new URLSearchParams(query);
    for (const [key, value] of Object.entries(changes)) {
      if (value == null || value === "") next.delete(key);
      else next.set(key, value);
    }
    const qs = next.toString();
    navigate(qs ? `/?${qs}` : "/", true);
  };

  return (
    <div className="search-layout">
      <section className="search-main" aria-labelledby="search-heading">
        <h1 id="search-heading">Explore philosophical concepts</h1>
        <label htmlFor="search" className="visually-hidden">
          Search concepts
        </label>
        <input
          id="search"
          type="search"
          className="search-box"
          placeholder="Search by name, alias or summary — “will”, “Dasein”, “flourish”"
          value={text}
          autoFocus
          autoComplete="off"
          onChange={(event) => {
            setText(event.target.value);
            update({ q: event.target.value.trim() || null });
          }}
        />
        <Alert>{result.error ? errorText(result.error) : null}</Alert>
        <p className="count" aria-live="polite">
          {concepts ? `${concepts.totalCount} concept${concepts.totalCount === 1 ? "" : "s"}` : "Searching…"}
        </p>
        <ul className="results">
          {concepts?.nodes.map((c) => (
            <li key={c.id}>
              <Link to={`/concepts/${c.slug}`} className="result-name">
                {c.name}
              </Link>
              <span className="meta">
                {[c.tradition, era(c.eraFrom, c.eraTo)].filter(Boolean).join(" · ")}
              </span>
              <p className="summary">
                {c.searchHighlight ? <Highlight text={c.searchHighlight} /> : c.summary}
              </p>
            </li>
          ))}
        </ul>
      </section>
      <aside className="facets" aria-label="Browse">
        <h2>Tradition</h2>
        {tradition && (
          <button type="button" className="chip active" onClick={() => update({ tradition: null })}>
            {tradition} ✕
          </button>
        )}
        <ul className="facet-list">
          {concepts?.facets.traditions.slice(0, 15).map((f) => (
            <li key={f.name}>
              <button type="button" className="facet" aria-pressed={f.name === tradition} onClick={() => update({ tradition: f.name })}>
                {f.name} <span className="n">{f.conceptCount}</span>
              </button>
            </li>
          ))}
        </ul>
        <h2>Tag</h2>
        {tag && (
          <button type="button" className="chip active" onClick={() => update({ tag: null })}>
            {tag} ✕
          </button>
        )}
        <ul className="facet-list">
          {concepts?.facets.tags.slice(0, 15).map((f) => (
            <li key={f.name}>
              <button type="button" className="facet" aria-pressed={f.name === tag} onClick={() => update({ tag: f.name })}>
                {f.name} <span className="n">{f.conceptCount}</span>
              </button>
            </li>
          ))}
        </ul>
        <h2>Era</h2>
        <form
          className="era-form"
          onSubmit={(event) => {
            event.preventDefault();
            const data = new FormData(event.currentTarget);
            update({ from: String(data.get("from") ?? ""), to: String(data.get("to") ?? "") });
          }}
        >
          <label>
            From year <input name="from" type="number" defaultValue={eraFrom ?? ""} placeholder="-500" />
          </label>
          <label>
            To year <input name="to" type="number" defaultValue={eraTo ?? ""} placeholder="1800" />
          </label>
          <button type="submit">Apply</button>
        </form>
        <ul className="facet-list eras">
          {concepts?.facets.eras.map((b) => (
            <li key={b.startYear}>
              <button
                type="button"
                className="facet"
                onClick={() => update({ from: String(b.startYear), to: String(b.endYear) })}
              >
                {era(b.startYear, b.endYear)} <span className="n">{b.conceptCount}</span>
              </button>
            </li>
          ))}
        </ul>
      </aside>
    </div>
  );
}

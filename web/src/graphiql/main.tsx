// GraphiQL at /graphql, from the pinned npm packages, with the README's example queries as
// tabs. Everything it loads comes from this server.
import { GraphiQL } from "graphiql";
import "graphiql/style.css";
import "./page.css";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import examples from "virtual:readme-examples";
import { fetcher } from "./fetcher";
import { keepRepaired } from "./labels";

/** "Concepts about ethics" → "ConceptsAboutEthics": an operation name, so the tab has a title. */
export function operationName(title: string): string {
  const words = title.normalize("NFKD").replace(/[^A-Za-z0-9 ]/g, " ").split(/\s+/).filter(Boolean);
  const name = words.slice(0, 4).map((w) => w[0].toUpperCase() + w.slice(1)).join("");
  return /^[A-Za-z]/.test(name) ? name.slice(0, 60) : `Example${name}`;
}

const tabs = examples.map((example) => ({
  query: example.query.startsWith("{")
    ? `# ${example.title}\nquery ${operationName(example.title)} ${example.query}`
    : `# ${example.title}\n${example.query}`,
}));

const root = document.getElementById("graphiql")!;
keepRepaired(root);
createRoot(root).render(
  <StrictMode>
    <GraphiQL fetcher={fetcher} defaultTabs={tabs} defaultEditorToolsVisibility={false} />
  </StrictMode>,
);

// GraphiQL at /graphql, from the pinned npm packages, with the README's example queries as
// tabs. Everything it loads comes from this server.
import { GraphiQL } from "graphiql";
import "graphiql/style.css";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import examples from "virtual:readme-examples";
import { fetcher } from "./fetcher";

const tabs = examples.map((example) => ({
  query: `# ${example.title}\n${example.query}`,
}));

createRoot(document.getElementById("graphiql")!).render(
  <StrictMode>
    <GraphiQL fetcher={fetcher} defaultTabs={tabs} defaultEditorToolsVisibility={false} />
  </StrictMode>,
);

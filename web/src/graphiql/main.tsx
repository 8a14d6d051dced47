// GraphiQL at /graphql, from the pinned npm packages, with the README's example queries as
// tabs. Everything it loads comes from this server.
import { GraphiQL } from "graphiql";
import "graphiql/style.css";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import examples from "virtual:readme-examples";
import { fetcher } from "./fetcher";
import { keepEditorsLabelled } from "./labels";

const tabs = examples.map((example) => ({
  query: `# ${example.title}\n${example.query}`,
}));

const root = document.getElementById("graphiql")!;
keepEditorsLabelled(root);
createRoot(root).render(
  <StrictMode>
    <GraphiQL fetcher={fetcher} defaultTabs={tabs} defaultEditorToolsVisibility={false} />
  </StrictMode>,
);

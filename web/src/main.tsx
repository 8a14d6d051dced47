import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { Provider } from "urql";
import { App } from "./App";
import { auth } from "./auth";
import { makeClient } from "./client";
import "./styles.css";

const client = makeClient(auth);
if (auth.storedRefreshToken()) void auth.refresh();

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <Provider value={client}>
      <App />
    </Provider>
  </StrictMode>,
);

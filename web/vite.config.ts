/// <reference types="vitest/config" />
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig, type Plugin } from "vite";
import { readmeExamples } from "./scripts/readme-examples.ts";
import { sourceHash } from "./scripts/source-hash.ts";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "..");
// The Python package serves this directory at /app (philos/gateway/explorer.py).
const outDir = join(repo, "philos", "gateway", "static");

/** `virtual:readme-examples`: the README's example queries, for GraphiQL's tabs. */
function examples(): Plugin {
  const id = "virtual:readme-examples";
  return {
    name: "philos-readme-examples",
    resolveId: (source) => (source === id ? "\0" + id : undefined),
    load(loaded) {
      if (loaded !== "\0" + id) return undefined;
      const markdown = readFileSync(join(repo, "README.md"), "utf8");
      return `export default ${JSON.stringify(readmeExamples(markdown))};`;
    },
  };
}

/** build-info.json: the sources' fingerprint, so a stale bundle is noticed. */
function buildInfo(): Plugin {
  return {
    name: "philos-build-info",
    apply: "build",
    closeBundle() {
      mkdirSync(outDir, { recursive: true });
      writeFileSync(join(outDir, "build-info.json"), JSON.stringify({ sources: sourceHash(repo) }) + "\n");
    },
  };
}

export default defineConfig({
  base: "/app/",
  plugins: [react(), examples(), buildInfo()],
  build: {
    outDir,
    emptyOutDir: true,
    assetsInlineLimit: 0,
    rollupOptions: {
      input: { main: join(here, "index.html"), graphiql: join(here, "graphiql.html") },
    },
  },
  server: {
    // `make web`: hot reload at http://127.0.0.1:5173/app/ against a running API.
    host: "127.0.0.1",
    // ws: subscriptions travel over a WebSocket on the same /graphql.
    proxy: { "/graphql": { target: process.env.PHILOS_API ?? "http://127.0.0.1:8000", ws: true } },
  },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.{ts,tsx}", "scripts/**/*.test.ts"],
    testTimeout: 60000,
  },
});

// The explorer's operations as a trusted-document manifest (docs/security.md, "Persisted
// queries"): the same documents as codegen.ts, hashed with SHA-256 by the client preset's
// `persistedDocuments`, written apart from src/gql/ so the typed operations stay as they are.
// `npm run persisted-manifest` runs this and copies the manifest to where the server reads it.
import type { CodegenConfig } from "@graphql-codegen/cli";

import base from "./codegen.ts";

const config: CodegenConfig = {
  schema: base.schema,
  documents: base.documents,
  generates: {
    "node_modules/.cache/philos-persisted/": {
      preset: "client",
      config: { enumsAsTypes: true, useTypeImports: true, scalars: { DateTime: "string" } },
      presetConfig: { fragmentMasking: false, persistedDocuments: { hashAlgorithm: "sha256" } },
    },
  },
  silent: true,
};

export default config;

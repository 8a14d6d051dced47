// Typed operations: every `graphql(...)` document under src/ is checked against the API's
// schema.graphql and gets its result and variable types in src/gql/. `npm run codegen`
// rewrites them; src/codegen.test.ts fails when the committed ones have drifted.
import type { CodegenConfig } from "@graphql-codegen/cli";

const config: CodegenConfig = {
  schema: "../schema.graphql",
  documents: ["src/**/*.{ts,tsx}", "!src/gql/**"],
  generates: {
    "src/gql/": {
      preset: "client",
      config: { enumsAsTypes: true, useTypeImports: true, scalars: { DateTime: "string" } },
      presetConfig: { fragmentMasking: false },
    },
  },
  silent: true,
};

export default config;

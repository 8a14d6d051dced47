// The typed operations in src/gql/ are what codegen makes of schema.graphql and the
// documents today: this fails when either changed without `npm run codegen`.
// @vitest-environment node
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { generate } from "@graphql-codegen/cli";
import { describe, expect, it } from "vitest";
import config from "../codegen";

describe("generated operation types", () => {
  it("match schema.graphql and the documents", async () => {
    const root = join(__dirname, "..");
    const cwd = process.cwd();
    process.chdir(root);
    try {
      const files = (await generate({ ...config, cwd: root }, false)) as { filename: string; content: string }[];
      expect(files.length).toBeGreaterThan(0);
      for (const file of files) {
        const committed = readFileSync(join(root, file.filename), "utf8");
        expect(committed, `${file.filename} is stale: run \`npm run codegen\` in web/`).toBe(file.content);
      }
    } finally {
      process.chdir(cwd);
    }
  });
});

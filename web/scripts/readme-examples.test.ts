import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readmeExamples } from "./readme-examples";

describe("readmeExamples", () => {
  it("takes every graphql block with the sentence before it as its title", () => {
    const md = "Intro.\n\nConcepts about ethics, with theses:\n\n```graphql\n{ a }\n```\n\n```text\nnot this\n```\n\nMore.\n\n```graphql\n{ b }\n```\n";
    expect(readmeExamples(md)).toEqual([
      { title: "Concepts about ethics", query: "{ a }\n" },
      { title: "More", query: "{ b }\n" },
    ]);
  });

  it("finds the README's examples", () => {
    const examples = readmeExamples(readFileSync(join(__dirname, "..", "..", "README.md"), "utf8"));
    expect(examples.length).toBeGreaterThanOrEqual(5);
    for (const example of examples) expect(example.query).toMatch(/^\{|^query|^mutation/);
  });
});

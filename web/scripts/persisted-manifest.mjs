// Copies the manifest codegen.persisted.ts wrote (id → document, ids the SHA-256 of each
// document) to the path given (default ../data/persisted-documents.json), for
// PHILOS_PERSISTED_MANIFEST. Fails when the explorer has no operations, so an empty
// manifest never reaches a server running trusted documents only.
import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";

const source = "node_modules/.cache/philos-persisted/persisted-documents.json";
const target = resolve(process.argv[2] ?? "../data/persisted-documents.json");
const documents = JSON.parse(readFileSync(source, "utf-8"));
const count = Object.keys(documents).length;
if (count === 0) {
  console.error("no operations found under src/: nothing to trust");
  process.exit(1);
}
mkdirSync(dirname(target), { recursive: true });
copyFileSync(source, target);
console.log(`${count} trusted documents written to ${target}`);

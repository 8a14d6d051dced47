// The fingerprint of everything the bundle is built from: every file under web/ (but
// node_modules) and the README (GraphiQL's example queries). The build writes it into
// build-info.json; tests/browser/test_bundle.py computes the same and fails when they differ.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, sep } from "node:path";

function walk(dir: string, out: string[]): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === "node_modules" || entry.name.startsWith(".")) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path, out);
    else if (entry.isFile()) out.push(path);
  }
}

export function sourceHash(repo: string): string {
  const files: string[] = [];
  walk(join(repo, "web"), files);
  files.push(join(repo, "README.md"));
  const names = files.map((f) => relative(repo, f).split(sep).join("/")).sort();
  const hash = createHash("sha256");
  for (const name of names) {
    hash.update(name + "\0");
    hash.update(readFileSync(join(repo, name)));
    hash.update("\0");
  }
  return hash.digest("hex");
}

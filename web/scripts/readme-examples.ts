// GraphiQL's example tabs: every ```graphql block of the README, titled by the first line of
// the paragraph before it.
export interface Example {
  title: string;
  query: string;
}

export function readmeExamples(markdown: string): Example[] {
  const examples: Example[] = [];
  const fence = /```graphql\n([\s\S]*?)```/g;
  let match: RegExpExecArray | null;
  while ((match = fence.exec(markdown)) !== null) {
    const before = markdown.slice(0, match.index).trimEnd().split("\n\n");
    const paragraph = (before[before.length - 1] ?? "").replace(/\s+/g, " ").trim();
    const sentence = paragraph.split(/(?<=[.:,])\s/)[0] ?? paragraph;
    const title = sentence.replace(/[`*]/g, "").replace(/[:,.]$/, "").slice(0, 80);
    examples.push({ title: title || `Example ${examples.length + 1}`, query: match[1] });
  }
  return examples;
}

// GraphiQL's CodeMirror editors read input through hidden textareas that have no label;
// name each after the editor it belongs to, so screen readers can tell them apart.
const NAMES: [string, string][] = [
  [".graphiql-query-editor", "Query editor"],
  ["[aria-label='Variables']", "Variables"],
  ["[aria-label='Headers']", "Headers"],
  [".result-window", "Response"],
];

export function labelEditors(root: ParentNode): void {
  for (const area of root.querySelectorAll("textarea:not([aria-label])")) {
    const name = NAMES.find(([selector]) => area.closest(selector))?.[1] ?? "Editor";
    area.setAttribute("aria-label", name);
  }
}

export function keepEditorsLabelled(root: HTMLElement): MutationObserver {
  const observer = new MutationObserver(() => labelEditors(root));
  observer.observe(root, { childList: true, subtree: true });
  labelEditors(root);
  return observer;
}

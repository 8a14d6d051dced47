// Accessibility repairs to GraphiQL's markup, kept applied as it re-renders:
// - its CodeMirror editors read input through hidden textareas with no label: name each after
//   its editor;
// - its tabs are role="tab" items holding two buttons (select, close), which screen readers
//   cannot operate (interactive content nested in a tab): make them a plain list of buttons,
//   the selected one marked with aria-current;
// - the editors' scrolling panes get into the tab order, so they can be scrolled by keyboard.
const NAMES: [string, string][] = [
  [".graphiql-query-editor", "Query editor"],
  [".graphiql-editor-tool", "Variables or headers"],
  [".result-window", "Response"],
];

export function repair(root: ParentNode): void {
  for (const area of root.querySelectorAll("textarea:not([aria-label])")) {
    const name = NAMES.find(([selector]) => area.closest(selector))?.[1] ?? "Editor";
    area.setAttribute("aria-label", name);
  }
  for (const list of root.querySelectorAll("ul.graphiql-tabs[role=tablist]")) {
    list.removeAttribute("role");
    list.setAttribute("aria-label", "Open queries");
  }
  for (const tab of root.querySelectorAll("li.graphiql-tab")) {
    if (tab.hasAttribute("role")) tab.removeAttribute("role");
    if (tab.hasAttribute("aria-selected")) tab.removeAttribute("aria-selected");
    const select = tab.querySelector("button.graphiql-tab-button");
    const current = tab.classList.contains("graphiql-tab-active") ? "true" : "false";
    if (select && select.getAttribute("aria-current") !== current) select.setAttribute("aria-current", current);
  }
  for (const pane of root.querySelectorAll(".CodeMirror-scroll:not([tabindex=\"0\"])")) {
    pane.setAttribute("tabindex", "0");
  }
}

export function keepRepaired(root: HTMLElement): MutationObserver {
  const observer = new MutationObserver(() => repair(root));
  observer.observe(root, {
    childList: true,
    subtree: true,
    attributes: true,
    attributeFilter: ["role", "aria-selected", "class"],
  });
  repair(root);
  return observer;
}

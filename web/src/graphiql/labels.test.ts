// @vitest-environment jsdom
import { describe, expect, it } from "vitest";
import { repair } from "./labels";

describe("GraphiQL repairs", () => {
  it("labels editors, flattens tabs into buttons and lets panes take focus", () => {
    document.body.innerHTML = `
      <div class="graphiql-query-editor"><textarea></textarea>
        <div class="CodeMirror-scroll" tabindex="-1"></div></div>
      <div class="result-window"><textarea></textarea></div>
      <ul class="graphiql-tabs" role="tablist">
        <li role="tab" aria-selected="true" class="graphiql-tab graphiql-tab-active">
          <button class="graphiql-tab-button">A</button><button>x</button></li>
        <li role="tab" aria-selected="false" class="graphiql-tab">
          <button class="graphiql-tab-button">B</button><button>x</button></li>
      </ul>`;
    repair(document);
    const areas = [...document.querySelectorAll("textarea")].map((t) => t.getAttribute("aria-label"));
    expect(areas).toEqual(["Query editor", "Response"]);
    expect(document.querySelector("[role=tab], [role=tablist], [aria-selected]")).toBeNull();
    const current = [...document.querySelectorAll(".graphiql-tab-button")].map((b) => b.getAttribute("aria-current"));
    expect(current).toEqual(["true", "false"]);
    expect(document.querySelector(".CodeMirror-scroll")?.getAttribute("tabindex")).toBe("0");
  });
});

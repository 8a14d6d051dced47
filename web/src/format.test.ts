import { describe, expect, it } from "vitest";
import { era, highlightPieces, relationLabel, traditionColour, year } from "./format";

describe("format", () => {
  it("writes years and periods", () => {
    expect(year(-428)).toBe("428 BCE");
    expect(year(1781)).toBe("1781 CE");
    expect(era(-427, -347)).toBe("427 BCE – 347 BCE");
    expect(era(1927, null)).toBe("from 1927 CE");
    expect(era(null, -500)).toBe("until 500 BCE");
    expect(era(null, null)).toBe("");
    expect(era(100, 100)).toBe("100 CE");
  });

  it("splits a search highlight into plain and matched text, markup left as text", () => {
    expect(highlightPieces("the «will» to «power»")).toEqual([
      { text: "the ", matched: false },
      { text: "will", matched: true },
      { text: " to ", matched: false },
      { text: "power", matched: true },
    ]);
    expect(highlightPieces("<b>no</b> match")).toEqual([{ text: "<b>no</b> match", matched: false }]);
    expect(highlightPieces("«all»")).toEqual([{ text: "all", matched: true }]);
  });

  it("names relation types and gives each tradition one colour", () => {
    expect(relationLabel("INFLUENCED_BY")).toBe("influenced by");
    expect(traditionColour("Stoicism")).toBe(traditionColour("Stoicism"));
    expect(traditionColour(null)).toBe("#9e9e9e");
    const colours = new Set(["Stoicism", "Daoism", "Kantianism", "Buddhism", "Existentialism"].map(traditionColour));
    expect(colours.size).toBeGreaterThan(2);
  });
});

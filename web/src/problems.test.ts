import { CombinedError } from "urql";
import { describe, expect, it } from "vitest";
import { errorText, problemText } from "./problems";

describe("messages a person can act on", () => {
  it("says when the server cannot be reached or is overloaded", () => {
    expect(errorText(new CombinedError({ networkError: new Error("Failed to fetch") }))).toMatch(/could not be reached/);
    const limited = new CombinedError({
      graphQLErrors: [{ message: "Rate limit exceeded", extensions: { code: "RATE_LIMITED" } }],
    });
    expect(errorText(limited)).toMatch(/Wait a moment/);
    expect(errorText(new CombinedError({ graphQLErrors: [{ message: "Query is too deep." }] }))).toBe("Query is too deep.");
  });

  it("names the fields a validation failure is about", () => {
    expect(
      problemText({
        __typename: "ValidationFailed",
        message: "The input is not valid.",
        fields: [
          { field: "slug", message: "Use lowercase words joined by hyphens." },
          { field: "summary", message: "At most 500 characters." },
        ],
      }),
    ).toBe("slug: Use lowercase words joined by hyphens. summary: At most 500 characters.");
  });

  it("passes other problems through and treats a success as no problem", () => {
    expect(problemText({ __typename: "Forbidden", message: "Only an EDITOR may do this." })).toBe("Only an EDITOR may do this.");
    expect(problemText({ __typename: "ConceptSuccess" })).toBeNull();
    expect(problemText(null)).toMatch(/No answer/);
  });
});

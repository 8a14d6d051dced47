// @vitest-environment jsdom
import { act, cleanup, fireEvent, render, renderHook, screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Provider } from "urql";
import { AdminPage } from "./AdminPage";
import { auth } from "./auth";
import { navigate, parse, useRoute } from "./router";
import { mockClient } from "./test/mockClient";
import { useDebounced } from "./useDebounced";

afterEach(() => {
  cleanup();
  auth.signedOut();
  vi.useRealTimers();
});

describe("useDebounced", () => {
  it("settles on the last value once it stops changing", async () => {
    vi.useFakeTimers();
    const { result, rerender } = renderHook(({ value }) => useDebounced(value, 100), { initialProps: { value: "w" } });
    rerender({ value: "wi" });
    rerender({ value: "wil" });
    await act(() => vi.advanceTimersByTimeAsync(50));
    expect(result.current).toBe("w");
    await act(() => vi.advanceTimersByTimeAsync(100));
    expect(result.current).toBe("wil");
  });
});

describe("router", () => {
  it("parses addresses below /app", () => {
    expect(parse("/app/").path).toBe("");
    expect(parse("/app/concepts/dasein/").path).toBe("/concepts/dasein");
    expect(parse("/app/path?from=a&to=b").query.get("to")).toBe("b");
  });

  it("follows navigation", () => {
    const { result } = renderHook(() => useRoute());
    act(() => navigate("/concepts/forms"));
    expect(result.current.path).toBe("/concepts/forms");
    act(() => window.history.back());
  });
});

describe("AdminPage", () => {
  const admin = { accessToken: "a", refreshToken: "r", expiresIn: 900, user: { id: "me", email: "root@x.y", displayName: "Root", role: "ADMIN" as const } };

  it("is for administrators only", () => {
    const { client, sent } = mockClient(() => null);
    render(<Provider value={client}><AdminPage /></Provider>);
    expect(screen.getByText(/Only an administrator/)).toBeTruthy();
    expect(sent).toEqual([]);
  });

  it("lists accounts and changes a role", async () => {
    auth.signedIn(admin);
    const { client, sent } = mockClient((name) =>
      name === "Users"
        ? { users: { __typename: "AccountList", accounts: [
            { id: "me", email: "root@x.y", displayName: "Root", role: "ADMIN", createdAt: "2026-01-01T00:00:00Z" },
            { id: "u2", email: "ada@x.y", displayName: "Ada", role: "READER", createdAt: "2026-01-02T00:00:00Z" },
          ] } }
        : { setUserRole: { __typename: "UserSuccess", user: { id: "u2", role: "EDITOR" } } },
    );
    render(<Provider value={client}><AdminPage /></Provider>);
    expect((screen.getByLabelText("Role of root@x.y") as HTMLSelectElement).disabled).toBe(true); // not your own
    await act(async () => fireEvent.change(screen.getByLabelText("Role of ada@x.y"), { target: { value: "EDITOR" } }));
    expect(sent.find((s) => s.name === "SetUserRole")?.variables).toEqual({ userId: "u2", role: "EDITOR" });
    expect(screen.getByRole("status").textContent).toContain("ada@x.y is now editor");
  });
});

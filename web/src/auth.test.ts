import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { AuthStore, canEdit, type Tokens } from "./auth";

const user = { id: "u1", email: "a@b.c", displayName: "Ada", role: "EDITOR" as const };
const tokens = (n: number, expiresIn = 900): Tokens => ({
  accessToken: `access-${n}`,
  refreshToken: `refresh-${n}`,
  expiresIn,
  user,
});

describe("AuthStore", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("renews the access token a minute before it expires", async () => {
    const store = new AuthStore(window.sessionStorage);
    const renew = vi.fn(async (refresh: string) => (refresh === "refresh-1" ? tokens(2) : null));
    store.setRenew(renew);
    store.signedIn(tokens(1));
    expect(store.token()).toBe("access-1");
    await vi.advanceTimersByTimeAsync(839_000);
    expect(renew).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(renew).toHaveBeenCalledWith("refresh-1");
    expect(store.token()).toBe("access-2");
    expect(window.sessionStorage.getItem("philos.refresh")).toBe("refresh-2");
  });

  it("signs out when the refresh token is refused, and forgets it", async () => {
    const store = new AuthStore(window.sessionStorage);
    store.setRenew(async () => null);
    store.signedIn(tokens(1, 90));
    const seen: (string | null)[] = [];
    store.subscribe(() => seen.push(store.current().accessToken));
    await vi.advanceTimersByTimeAsync(30_000);
    expect(store.current().user).toBeNull();
    expect(seen).toEqual([null]);
    expect(window.sessionStorage.getItem("philos.refresh")).toBeNull();
  });

  it("keeps the access token in memory only", () => {
    const store = new AuthStore(window.sessionStorage);
    store.signedIn(tokens(7));
    const stored = JSON.stringify({ ...window.sessionStorage });
    expect(stored).not.toContain("access-7");
    store.signedOut();
    expect(store.token()).toBeNull();
    expect(window.sessionStorage.length).toBe(0);
  });

  it("lets editors and admins edit", () => {
    expect(canEdit({ ...user, role: "READER" })).toBe(false);
    expect(canEdit({ ...user, role: "EDITOR" })).toBe(true);
    expect(canEdit({ ...user, role: "ADMIN" })).toBe(true);
    expect(canEdit(null)).toBe(false);
  });
});

// Who is signed in, and their tokens. The access token lives only in this module's memory;
// the refresh token also in sessionStorage (this tab only, gone when it closes or on sign-out)
// so a reload keeps the session. The access token is renewed a minute before it expires.

export type Role = "READER" | "EDITOR" | "ADMIN";

export interface User {
  id: string;
  email: string;
  displayName: string;
  role: Role;
}

export interface Tokens {
  accessToken: string;
  expiresIn: number;
  refreshToken: string;
  user: User;
}

export interface Session {
  user: User | null;
  accessToken: string | null;
}

const REFRESH_KEY = "philos.refresh";
const EARLY_SECONDS = 60;

type Renew = (refreshToken: string) => Promise<Tokens | null>;

export class AuthStore {
  private session: Session = { user: null, accessToken: null };
  private refreshToken: string | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private listeners = new Set<() => void>();
  private renew: Renew | null = null;

  constructor(private readonly storage: Storage | null) {}

  /** How to exchange a refresh token for new tokens (set once the client exists). */
  setRenew(renew: Renew): void {
    this.renew = renew;
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  current = (): Session => this.session;

  token(): string | null {
    return this.session.accessToken;
  }

  storedRefreshToken(): string | null {
    return this.refreshToken ?? this.storage?.getItem(REFRESH_KEY) ?? null;
  }

  signedIn(tokens: Tokens): void {
    this.refreshToken = tokens.refreshToken;
    this.storage?.setItem(REFRESH_KEY, tokens.refreshToken);
    this.session = { user: tokens.user, accessToken: tokens.accessToken };
    this.schedule(tokens.expiresIn);
    this.emit();
  }

  signedOut(): void {
    this.refreshToken = null;
    this.storage?.removeItem(REFRESH_KEY);
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.session = { user: null, accessToken: null };
    this.emit();
  }

  /** Renew now with the stored refresh token; signs out when it is refused. */
  async refresh(): Promise<boolean> {
    const token = this.storedRefreshToken();
    if (!token || !this.renew) return false;
    const tokens = await this.renew(token);
    if (tokens) {
      this.signedIn(tokens);
      return true;
    }
    this.signedOut();
    return false;
  }

  private schedule(expiresIn: number): void {
    if (this.timer) clearTimeout(this.timer);
    const delay = Math.max(5, expiresIn - EARLY_SECONDS) * 1000;
    this.timer = setTimeout(() => void this.refresh(), delay);
  }

  private emit(): void {
    for (const listener of this.listeners) listener();
  }
}

export function canEdit(user: User | null): boolean {
  return user?.role === "EDITOR" || user?.role === "ADMIN";
}

function sessionStorageOrNull(): Storage | null {
  try {
    return window.sessionStorage;
  } catch {
    return null;
  }
}

/** The explorer's one session. */
export const auth = new AuthStore(typeof window === "undefined" ? null : sessionStorageOrNull());

/**
 * The web app's client and sign-in. The API is this page's origin unless `window.frontrow.apiUrl` (or a
 * `<meta name="frontrow-api">`) names another.
 *
 * Production sign-in hook: define `window.frontrow.identityToken` before the app's script runs (a
 * `<script>` in index.html that loads your identity provider's SDK), a function returning the signed-in
 * user's identity token (e.g. Auth0's `getAccessTokenSilently`), and optionally `window.frontrow.signIn()`
 * to start your provider's sign-in. Without the hook the page offers the development sign-in by name
 * (`auth.devSignIn`), which only an API running with development identities answers.
 */
import { type FrontRowClient, createFrontRowClient } from '@frontrow/api-client';

export type FrontRowHook = {
  apiUrl?: string;
  identityToken?: () => string | undefined | Promise<string | undefined>;
  signIn?: () => void;
};

declare global {
  interface Window {
    frontrow?: FrontRowHook;
  }
}

export const hook: FrontRowHook = window.frontrow ?? {};

export function apiUrl(): string {
  const meta = document.querySelector<HTMLMetaElement>('meta[name="frontrow-api"]')?.content;
  return hook.apiUrl ?? (meta || window.location.origin);
}

/** A session value (this tab only, kept across a reload). */
export const session = {
  get<T>(key: string): T | undefined {
    const raw = sessionStorage.getItem(`frontrow.${key}`);
    if (raw === null) return undefined;
    try {
      return JSON.parse(raw) as T;
    } catch {
      return undefined;
    }
  },
  set(key: string, value: unknown): void {
    sessionStorage.setItem(`frontrow.${key}`, JSON.stringify(value));
  },
  remove(key: string): void {
    sessionStorage.removeItem(`frontrow.${key}`);
  },
};

/** A client whose identity token is the hook's, or the one stored under `key` by a sign-in. */
export function makeClient(key: string): FrontRowClient {
  return createFrontRowClient({
    url: apiUrl(),
    identityToken: hook.identityToken ?? (() => session.get<string>(key)),
    EventSource: window.EventSource,
  });
}

export const won = (amount: number) => `₩${amount.toLocaleString('en-US')}`;

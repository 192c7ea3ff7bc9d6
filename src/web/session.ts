/**
 * Signing in to the dashboard when ferry serve has a token. A browser cannot send `Authorization: Bearer` on a
 * page load, so the login form (POST /login, the token typed in) sets a session cookie instead. The cookie is not
 * the token: it is an expiry and an HMAC of it under a key derived from the token and a random value drawn when
 * the service starts, so it says nothing about the token, lapses after SESSION_HOURS, and every session ends
 * when the service restarts or the token changes. HttpOnly and SameSite=Strict: no script reads it and no other
 * site's page sends it.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { html } from './html.js';
import { page } from './layout.js';

export const SESSION_COOKIE = 'ferry_session';
export const SESSION_HOURS = 12;
/** A login form is a few hundred bytes; more is refused unread. */
const FORM_LIMIT = 8192;

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

export class Sessions {
  readonly #key: Buffer;
  readonly #token: Buffer;
  readonly #now: () => number;

  constructor(token: string, now: () => number = Date.now) {
    this.#token = digest(token);
    this.#key = createHmac('sha256', randomBytes(32)).update(token, 'utf8').digest();
    this.#now = now;
  }

  /** Whether `candidate` is the token (both hashed, compared in constant time). */
  tokenMatches(candidate: string): boolean {
    return timingSafeEqual(digest(candidate), this.#token);
  }

  /** A new session's cookie value. */
  issue(): string {
    const expires = this.#now() + SESSION_HOURS * 3_600_000;
    return `${expires}.${this.#sign(expires)}`;
  }

  /** The Set-Cookie header for a new session. */
  setCookie(): string {
    return `${SESSION_COOKIE}=${this.issue()}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${SESSION_HOURS * 3600}`;
  }

  /** Whether a Cookie header carries a session of this service that has not lapsed. */
  valid(cookieHeader: string | undefined): boolean {
    const value = cookieValue(cookieHeader, SESSION_COOKIE);
    const match = value === undefined ? null : /^(\d{1,15})\.([A-Za-z0-9_-]{43})$/.exec(value);
    if (!match) return false;
    const expires = Number(match[1]);
    if (expires <= this.#now()) return false;
    return timingSafeEqual(Buffer.from(match[2]!, 'utf8'), Buffer.from(this.#sign(expires), 'utf8'));
  }

  #sign(expires: number): string {
    return createHmac('sha256', this.#key).update(`ferry-session:${expires}`).digest('base64url');
  }
}

/** The value of cookie `name` in a Cookie header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Where to go after signing in: a path of this server only (never `//other.host` or a scheme), else the overview. */
export function safeNext(next: string | null | undefined): string {
  return next && /^\/(?![/\\])[^\s]*$/.test(next) && !next.startsWith('/login') ? next : '/';
}

/** The login page: a form posting the token to /login (the CSP's form-action 'self' allows exactly that). */
export function loginPage(next: string, failed: boolean): string {
  return page(
    'Sign in',
    '',
    html`<form class="login" method="post" action="/login">
${failed ? html`<p class="bad" role="alert">That is not the token ferry serve was given.</p>` : ''}
<p>This ferry serve needs its token: the content of the file given to <code>--token-file</code> (or <code>serve: {token_file}</code> in ferry.yaml).</p>
<label>Token <input type="password" name="token" autocomplete="current-password" required autofocus></label>
<input type="hidden" name="next" value="${safeNext(next)}">
<button type="submit">Sign in</button>
</form>`,
  );
}

/** The url-encoded form a request carries, at most FORM_LIMIT bytes (undefined when larger or not a form). */
export async function readForm(req: IncomingMessage): Promise<URLSearchParams | undefined> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > FORM_LIMIT) return undefined;
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

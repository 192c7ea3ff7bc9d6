/**
 * Masks known secret values (a datastore's secret attributes) in whatever
 * ferry prints or stores from a driver: its messages, log lines, --json, the
 * journal. A driver that echoes a password must not have ferry repeat it.
 */
export const MASK = '***';

/** The environment variables that carry a datastore's secret attributes to its driver (never argv, never the dump). */
export const SECRET_ENV_PREFIX = 'FERRY_DS_SECRET_';

/** The secret values among a script's extra environment; undefined when there are none (the common case costs nothing). */
export function secretsOf(env: Readonly<Record<string, string>> | undefined): SecretMask | undefined {
  if (!env) return undefined;
  const values: string[] = [];
  for (const name in env) if (name.startsWith(SECRET_ENV_PREFIX) && env[name]) values.push(env[name] as string);
  return values.length > 0 ? new SecretMask(values) : undefined;
}

export class SecretMask {
  /** Longest first, so a secret that contains another is masked whole. */
  private readonly values: string[];

  constructor(values: Iterable<string>) {
    this.values = [...new Set([...values].filter((value) => value !== ''))].sort((a, b) => b.length - a.length);
  }

  get empty(): boolean {
    return this.values.length === 0;
  }

  /** `text` with every known secret value replaced by ***. */
  text(text: string): string {
    let masked = text;
    for (const value of this.values) if (masked.includes(value)) masked = masked.split(value).join(MASK);
    return masked;
  }

  /** A copy of a JSON-like value with every string masked. */
  deep<T>(value: T): T {
    if (this.empty) return value;
    return this.walk(value) as T;
  }

  private walk(value: unknown): unknown {
    if (typeof value === 'string') return this.text(value);
    if (Array.isArray(value)) return value.map((item) => this.walk(item));
    if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, this.walk(item)]));
    }
    return value;
  }
}

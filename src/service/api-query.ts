/**
 * A request's query string for the API, checked: every value is untrusted text until a parser here turns it into
 * what a route needs, and a parameter that is unknown, repeated or malformed is refused (400) naming it and what
 * is expected, so a typo (`?limt=5`) is an answer, not silently ignored.
 */
import { FerryError } from '../errors.js';

export class Query {
  private constructor(private readonly values: ReadonlyMap<string, string>) {}

  /** The parameters of `url`, refused unless each is one of `known` and given once. */
  static of(url: URL, known: readonly string[], route: string): Query {
    const values = new Map<string, string>();
    for (const [name, value] of url.searchParams) {
      if (!known.includes(name)) {
        throw new FerryError('E_USAGE', `${route} has no query parameter ${JSON.stringify(name)}`, { hint: known.length > 0 ? `it takes ${known.join(', ')}` : 'it takes none' });
      }
      if (values.has(name)) throw new FerryError('E_USAGE', `query parameter ${name} is given more than once`, { hint: `give ${name} once` });
      values.set(name, value);
    }
    return new Query(values);
  }

  /** The raw text of `name`, or undefined when not given (an empty value counts as not given). */
  text(name: string): string | undefined {
    const value = this.values.get(name);
    return value === undefined || value === '' ? undefined : value;
  }

  /** One of `choices`, or undefined. */
  choice<T extends string>(name: string, choices: readonly T[]): T | undefined {
    const value = this.text(name);
    if (value === undefined) return undefined;
    if (!(choices as readonly string[]).includes(value)) throw bad(name, value, `one of ${choices.join(', ')}`);
    return value as T;
  }

  /** A comma-separated list of `choices`, or undefined. */
  choices<T extends string>(name: string, choices: readonly T[]): T[] | undefined {
    const value = this.text(name);
    if (value === undefined) return undefined;
    const items = value.split(',');
    for (const item of items) if (!(choices as readonly string[]).includes(item)) throw bad(name, value, `one or more of ${choices.join(', ')}, comma-separated`);
    return items as T[];
  }

  /** An integer in [min, max], or undefined. */
  integer(name: string, min: number, max: number): number | undefined {
    const value = this.text(name);
    if (value === undefined) return undefined;
    const n = /^\d{1,16}$/.test(value) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) throw bad(name, value, `an integer from ${min} to ${max}`);
    return n;
  }

  /** A time: integer ms since the epoch, or an ISO 8601 date or time (`2026-12-03`, `2026-12-03T10:00:00Z`); undefined when not given. */
  time(name: string): number | undefined {
    const value = this.text(name);
    if (value === undefined) return undefined;
    const ms = /^\d{1,15}$/.test(value) ? Number(value) : /^\d{4}-\d{2}-\d{2}([T ][0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value) ? Date.parse(value) : Number.NaN;
    if (!Number.isSafeInteger(ms) || ms < 0) throw bad(name, value, 'a time in ms since the epoch, or an ISO 8601 time (2026-12-03T10:00:00Z)');
    return ms;
  }

  /** A name as the catalog's records have them: printable, at most 256 characters. */
  name(name: string): string | undefined {
    const value = this.text(name);
    if (value === undefined) return undefined;
    if (value.length > 256 || /[\u0000-\u001f\u007f-\u009f]/.test(value)) throw bad(name, value.slice(0, 40), 'printable text, at most 256 characters');
    return value;
  }
}

/** The 400 of a malformed parameter: its name, what it got, what it takes. */
export function bad(name: string, value: string, expected: string): FerryError {
  return new FerryError('E_USAGE', `query parameter ${name}=${JSON.stringify(value)} is not ${expected}`, { hint: `give ${name} as ${expected}` });
}

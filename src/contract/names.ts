/**
 * The name rule: driver, action, host, datastore and VM names are plain file
 * names (letters, digits, _ . and -, not starting with . or -), so a name is
 * safe as one path segment, in a host:path argument and on a command line.
 * `.` and `..` never match.
 */
import * as v from 'valibot';

export const NAME_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/** The rule unanchored, for patterns that find a name inside text (`../<driver>/lib/`). */
export const NAME_BODY = NAME_PATTERN.source.slice(1, -1);

export function isName(value: string): boolean {
  return NAME_PATTERN.test(value);
}

/** A name in a schema-checked file (ferry.yaml, a conformance datastore file). */
export const NameSchema = v.pipe(v.string(), v.regex(NAME_PATTERN));

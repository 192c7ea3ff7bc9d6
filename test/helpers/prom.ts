/** Reading Prometheus' text format in tests, and the Prometheus tools (Debian's prometheus package) they run. */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of an exposition text (comments skipped). */
export function samplesOf(text: string): PromSample[] {
  const out: PromSample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]!] = JSON.parse(`"${pair[2]}"`) as string;
    out.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return out;
}

/** The value of the one sample of `name` whose labels include `labels`; undefined when none; throws when several. */
export function valueOf(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samplesOf(text).filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return found[0]?.value;
}

/** The path of a Prometheus tool, or an Error saying how to install it (a missing tool fails a test, never skips it). */
export function promTool(name: 'promtool' | 'prometheus'): string {
  const path = `/usr/bin/${name}`;
  if (existsSync(path)) return path;
  try {
    return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error(`${name} is not installed: install the Debian package prometheus (apt-get install prometheus)`);
  }
}

/** `promtool check metrics` on `text`: its exit status and what it printed (its lint findings). */
export function promtoolCheck(text: string): { status: number | null; output: string } {
  const result = spawnSync(promTool('promtool'), ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (result.error) throw result.error;
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

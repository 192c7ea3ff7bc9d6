/**
 * Reading the project's documentation for the docs tests: which Markdown
 * files there are (README.md and docs/*.md), their fenced code blocks with
 * the line each starts on, and their headings as GitHub links to them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url)).replace(/\/$/, '');

/** README.md, then docs/*.md in name order, as absolute paths. */
export function markdownFiles(): string[] {
  const docs = join(repoRoot, 'docs');
  const pages = readdirSync(docs)
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => join(docs, name));
  return [join(repoRoot, 'README.md'), ...pages];
}

/** A path as the reports show it: relative to the repository. */
export function shown(path: string): string {
  return relative(repoRoot, path);
}

export interface CodeBlock {
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** The words of the info string: ```sh run -> ['sh', 'run']. */
  info: string[];
  /** The lines between the fences. */
  lines: string[];
}

const FENCE = /^(`{3,}|~{3,})(.*)$/;

/** The fenced code blocks of a Markdown text, in order. */
export function codeBlocks(file: string, text = readFileSync(file, 'utf8')): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  let open: { fence: string; block: CodeBlock } | undefined;
  text.split('\n').forEach((line, index) => {
    if (open === undefined) {
      const match = FENCE.exec(line);
      if (match === null) return;
      const info = (match[2] ?? '').trim().split(/\s+/).filter((word) => word !== '');
      open = { fence: match[1] as string, block: { file, line: index + 1, info, lines: [] } };
    } else if (line.trim().startsWith(open.fence) && line.trim().replace(/[`~]/g, '') === '') {
      blocks.push(open.block);
      open = undefined;
    } else {
      open.block.lines.push(line);
    }
  });
  if (open !== undefined) throw new Error(`${shown(file)}:${open.block.line}: code block never closed`);
  return blocks;
}

/** The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens. */
export function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The anchors of a Markdown text's headings (outside code blocks); a repeated heading gets -1, -2 … */
export function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  let inFence: string | undefined;
  for (const line of text.split('\n')) {
    const fence = FENCE.exec(line);
    if (fence !== null) {
      const marker = fence[1] as string;
      if (inFence === undefined) inFence = marker;
      else if (marker.startsWith(inFence) && (fence[2] ?? '').trim() === '') inFence = undefined;
      continue;
    }
    if (inFence !== undefined) continue;
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (heading === null) continue;
    const base = slug(heading[1] as string);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    result.add(count === 0 ? base : `${base}-${count}`);
  }
  return result;
}

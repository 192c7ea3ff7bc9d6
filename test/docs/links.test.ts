/**
 * The links between README.md and docs/*.md lead somewhere: every relative
 * link names a file of the repository, and every `#anchor` a heading of the
 * page it points at (as GitHub makes anchors from headings).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import t from 'tap';
import { anchors, markdownFiles, shown, slug } from './markdown.js';

interface Link {
  line: number;
  target: string;
}

/** Relative links of a Markdown text, outside code blocks and code spans. */
function relativeLinks(text: string): Link[] {
  const links: Link[] = [];
  let fenced = false;
  text.split('\n').forEach((line, index) => {
    if (/^(`{3,}|~{3,})/.test(line)) fenced = !fenced;
    if (fenced) return;
    for (const match of line.replace(/`[^`]*`/g, '').matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = match[1] as string;
      if (!/^[a-z]+:/i.test(target)) links.push({ line: index + 1, target });
    }
  });
  return links;
}

t.test('relative links name files and headings that exist', async (t) => {
  let checked = 0;
  for (const file of markdownFiles()) {
    for (const { line, target } of relativeLinks(readFileSync(file, 'utf8'))) {
      const [path, anchor] = target.split('#', 2) as [string, string | undefined];
      const into = path === '' ? file : resolve(dirname(file), path);
      const where = `${shown(file)}:${line}: ${target}`;
      checked += 1;
      if (!existsSync(into)) {
        t.fail(`${where}: no such file`);
        continue;
      }
      if (anchor !== undefined && into.endsWith('.md')) {
        const known = anchors(readFileSync(into, 'utf8'));
        t.ok(known.has(anchor), `${where}: a heading of ${shown(into)}`, { headings: [...known] });
      }
    }
  }
  t.ok(checked > 20, `the docs link to each other (${checked} links checked)`);
});

t.test('anchors are made as GitHub makes them', async (t) => {
  t.equal(slug('`ferry tm transfer`'), 'ferry-tm-transfer');
  t.equal(slug('`--json`'), '--json');
  t.equal(slug('Driver folders and driver.yaml'), 'driver-folders-and-driveryaml');
  t.equal(slug('Protocol mode (`ferry mad`)'), 'protocol-mode-ferry-mad');
  t.same([...anchors('# A\n```\n# not a heading\n```\n## A\n')], ['a', 'a-1']);
});

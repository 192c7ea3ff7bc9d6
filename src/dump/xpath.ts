/**
 * The slice of XPath driver scripts use on dumps: absolute paths
 * (`/DS_DRIVER_ACTION_DATA/IMAGE/PATH`), `//NAME` anywhere, and the `%m%`
 * prefix that joins every match with a space, as OpenNebula's xpath.rb does.
 */
import { isElement, textOf, type XmlElement, type XmlValue } from './xml.js';

/** Every node matched by expr under the document `{ [root]: body }`. */
function select(root: string, body: XmlElement, expr: string): XmlValue[] {
  let nodes: XmlValue[] = [{ [root]: body }];
  const anywhere = expr.startsWith('//');
  const steps = expr.replace(/^\/+/, '').split('/').filter((s) => s !== '');
  if (anywhere) {
    const [first, ...rest] = steps;
    if (first === undefined) return [];
    nodes = descendants(nodes[0] as XmlElement, first);
    return rest.reduce(child, nodes);
  }
  return steps.reduce(child, nodes);
}

function child(nodes: XmlValue[], step: string): XmlValue[] {
  const out: XmlValue[] = [];
  for (const node of nodes.flatMap((n) => (Array.isArray(n) ? n : [n]))) {
    if (!isElement(node) || !Object.hasOwn(node, step)) continue;
    const next = (node as XmlElement)[step] as XmlValue;
    if (Array.isArray(next)) out.push(...next);
    else out.push(next);
  }
  return out;
}

function descendants(node: XmlElement, name: string): XmlValue[] {
  const out: XmlValue[] = [];
  const visit = (value: XmlValue): void => {
    if (Array.isArray(value)) return value.forEach(visit);
    if (!isElement(value)) return;
    for (const [key, childValue] of Object.entries(value)) {
      if (key === name) out.push(...(Array.isArray(childValue) ? childValue : [childValue]));
      visit(childValue);
    }
  };
  visit(node);
  return out;
}

/** The value of each expression: the first match's text, or every match joined by a space with `%m%`. Missing is ''. */
export function xpathValues(root: string, body: XmlElement, exprs: readonly string[]): string[] {
  return exprs.map((expr) => {
    const multi = expr.startsWith('%m%');
    const matches = select(root, body, multi ? expr.slice(3) : expr);
    if (multi) return matches.map(textOf).join(' ');
    const first = matches[0];
    return first === undefined ? '' : textOf(first);
  });
}

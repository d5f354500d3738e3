/**
 * A small, safe XML parser for VOEvents (no dependency). Safe by construction:
 * - DOCTYPE (and so any ENTITY declaration) is rejected: no entity expansion, no external entities;
 *   only the five predefined entities and numeric character references are decoded;
 * - payload size and nesting depth are bounded.
 * Namespaces are reduced to local names (VOEvent 2.0 and 1.1, prefixed or not, look the same).
 */
import { InvalidInput } from './errors.ts';

export interface XmlElement {
  name: string; // local name
  attrs: Record<string, string>; // local names
  children: XmlElement[];
  text: string;
}

export const MAX_BYTES = 1 << 20;
const MAX_DEPTH = 64;
const PREDEF: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function local(n: string): string {
  const i = n.indexOf(':');
  return i >= 0 ? n.slice(i + 1) : n;
}

function decode(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[A-Za-z][A-Za-z0-9]*);?/g, (m, e: string) => {
    if (!m.endsWith(';')) throw new InvalidInput('voevent.malformed_xml', `unterminated entity reference '${m}'`);
    if (e[0] === '#') {
      const cp = e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      if (!Number.isFinite(cp) || cp > 0x10ffff) throw new InvalidInput('voevent.malformed_xml', `bad character reference '${m}'`);
      return String.fromCodePoint(cp);
    }
    const v = PREDEF[e];
    if (v === undefined) throw new InvalidInput('voevent.entity_declared', `undeclared entity '&${e};' (entity expansion is disabled)`);
    return v;
  });
}

export function parseXml(input: string | Buffer, maxBytes = MAX_BYTES): XmlElement {
  const size = typeof input === 'string' ? Buffer.byteLength(input) : input.length;
  if (size > maxBytes) throw new InvalidInput('voevent.too_large', `payload of ${size} bytes exceeds the ${maxBytes}-byte limit`);
  const s = typeof input === 'string' ? input : input.toString('utf8');
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let i = 0;
  const bad = (msg: string) => new InvalidInput('voevent.malformed_xml', `${msg} at offset ${i}`);
  while (i < s.length) {
    const lt = s.indexOf('<', i);
    const textEnd = lt < 0 ? s.length : lt;
    if (textEnd > i) {
      const text = s.slice(i, textEnd);
      if (stack.length) stack[stack.length - 1].text += decode(text);
      else if (text.trim()) throw bad('text outside the root element');
    }
    if (lt < 0) break;
    i = lt;
    if (s.startsWith('<!--', i)) {
      const e = s.indexOf('-->', i + 4);
      if (e < 0) throw bad('unterminated comment');
      i = e + 3;
    } else if (s.startsWith('<?', i)) {
      const e = s.indexOf('?>', i + 2);
      if (e < 0) throw bad('unterminated processing instruction');
      i = e + 2;
    } else if (s.startsWith('<![CDATA[', i)) {
      const e = s.indexOf(']]>', i + 9);
      if (e < 0 || !stack.length) throw bad('bad CDATA section');
      stack[stack.length - 1].text += s.slice(i + 9, e);
      i = e + 3;
    } else if (s.startsWith('<!', i)) {
      if (/^<!DOCTYPE/i.test(s.slice(i, i + 9)) || /^<!ENTITY/i.test(s.slice(i, i + 8)))
        throw new InvalidInput('voevent.entity_declared', 'DOCTYPE/ENTITY declarations are not accepted (entity expansion is disabled)');
      throw bad('unexpected markup declaration');
    } else if (s[i + 1] === '/') {
      const e = s.indexOf('>', i);
      if (e < 0) throw bad('unterminated end tag');
      const name = local(s.slice(i + 2, e).trim());
      const open = stack.pop();
      if (!open || open.name !== name) throw bad(`end tag </${name}> does not match <${open?.name ?? ''}>`);
      i = e + 1;
    } else {
      // start tag: name, attributes, optional self-closing
      const m = /^<([A-Za-z_][\w.:-]*)/.exec(s.slice(i, i + 256));
      if (!m) throw bad('bad start tag');
      const el: XmlElement = { name: local(m[1]), attrs: {}, children: [], text: '' };
      let j = i + m[0].length;
      const attrRe = /\s*([A-Za-z_][\w.:-]*)\s*=\s*("([^"]*)"|'([^']*)')/y;
      for (;;) {
        attrRe.lastIndex = j;
        const a = attrRe.exec(s);
        if (!a) break;
        const an = a[1];
        if (!an.startsWith('xmlns')) el.attrs[local(an)] = decode(a[3] ?? a[4] ?? '');
        j = attrRe.lastIndex;
      }
      while (j < s.length && /\s/.test(s[j])) j++;
      let selfClose = false;
      if (s[j] === '/') {
        selfClose = true;
        j++;
      }
      if (s[j] !== '>') throw bad(`malformed start tag <${el.name}>`);
      i = j + 1;
      if (stack.length) stack[stack.length - 1].children.push(el);
      else if (root) throw bad('more than one root element');
      else root = el;
      if (!selfClose) {
        stack.push(el);
        if (stack.length > MAX_DEPTH) throw bad('nesting too deep');
      }
    }
  }
  if (stack.length) throw new InvalidInput('voevent.malformed_xml', `unclosed element <${stack[stack.length - 1].name}>`);
  if (!root) throw new InvalidInput('voevent.malformed_xml', 'no root element');
  return root;
}

export function child(el: XmlElement | undefined, name: string): XmlElement | undefined {
  return el?.children.find((c) => c.name === name);
}

export function path(el: XmlElement | undefined, ...names: string[]): XmlElement | undefined {
  let cur = el;
  for (const n of names) cur = child(cur, n);
  return cur;
}

export function* descendants(el: XmlElement, name: string): Generator<XmlElement> {
  for (const c of el.children) {
    if (c.name === name) yield c;
    yield* descendants(c, name);
  }
}

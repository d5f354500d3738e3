/**
 * A small XML parser of our own for VOEvents: no dependency, linear time, safe by construction.
 *
 * What it does
 * - Elements, attributes, character data, CDATA sections, comments and processing instructions
 *   (comments and PIs are skipped; the XML declaration is read for its encoding).
 * - Namespaces are resolved (each element records its namespace URI in `ns`) and names are reduced to
 *   local names: `<voe:VOEvent xmlns:voe="…v2.0">`, `<VOEvent xmlns="…v1.1">` and a bare `<VOEvent>`
 *   all come out as `VOEvent`. `xmlns` attributes are not kept; prefixed attributes keep their local
 *   name (an unprefixed attribute wins a clash).
 *
 * What it refuses (every failure is an `InvalidInput`, never another exception)
 * - Any DOCTYPE or ENTITY declaration → `voevent.entity_declared`. With no DTD there is nothing to
 *   expand: only the five predefined entities (&lt; &gt; &amp; &quot; &apos;) and numeric character
 *   references are decoded, so "billion laughs" and external entities (XXE) cannot happen. A reference
 *   to any other entity is not well-formed XML → `voevent.malformed_xml`.
 * - Payloads over `maxBytes` (1 MiB by default) → `voevent.too_large`, checked before any decoding.
 * - Nesting deeper than `maxDepth` (64; a VOEvent is ~8 deep), more than `maxElements` elements,
 *   more than `maxAttributes` attributes on one element (checked as they are read; the
 *   duplicate-attribute check is linear: a Set beyond a handful) or `maxAttributesTotal` in all,
 *   bytes that are not valid in the declared encoding, characters XML 1.0 forbids, and every
 *   well-formedness error (mismatched or unclosed tags, duplicate attributes, `<` in an attribute
 *   value, text outside the root, two roots, …) → `voevent.malformed_xml`, with line:column.
 *
 * Not supported on purpose: DTDs of any kind, encodings other than UTF-8, UTF-16, US-ASCII and
 * ISO-8859-1 (all VOEvent producers we know of send UTF-8).
 */
import { InvalidInput } from './errors.ts';

export interface XmlElement {
  /** Local name (prefix removed). */
  name: string;
  /** Namespace URI, '' when none. */
  ns: string;
  /** Attributes by local name (`xmlns` declarations removed). Null-prototype object. */
  attrs: Record<string, string>;
  children: XmlElement[];
  /** Character data directly inside this element (text and CDATA, entities decoded), untrimmed. */
  text: string;
}

export interface XmlLimits {
  maxBytes: number;
  maxDepth: number;
  maxElements: number;
  /** Attributes of one element, namespace declarations included. */
  maxAttributes: number;
  /** Attributes of the whole document (each costs ~0.25 µs: this bounds the time a packet can take). */
  maxAttributesTotal: number;
}

/**
 * 1 MiB: the largest real VOEvents (GCN with long descriptions) are ~10 kB, ~150 elements and ~300
 * attributes, and no element has more than ~10 (a root with its namespace declarations). Every document
 * within these limits parses in well under 50 ms (xml.test.ts, "parse-time budget"): the element and
 * attribute counts bound the object-building work, the byte limit the scanning.
 */
export const DEFAULT_XML_LIMITS: XmlLimits = { maxBytes: 1_048_576, maxDepth: 64, maxElements: 10_000, maxAttributes: 64, maxAttributesTotal: 40_000 };

const XML_NS = 'http://www.w3.org/XML/1998/namespace';
// A Map, not an object literal: `&constructor;` must not find Object.prototype.constructor.
const PREDEFINED: ReadonlyMap<string, string> = new Map([['lt', '<'], ['gt', '>'], ['amp', '&'], ['quot', '"'], ['apos', "'"]]);
// Characters XML 1.0 does not allow anywhere in a document (C0 controls except TAB, LF, CR; U+FFFE/U+FFFF;
// lone surrogates are caught by the strict UTF-8 decoder or here).
const FORBIDDEN_CHARS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const NORMALISE = /[\t\r\n]/;
const NORMALISE_ALL = /[\t\r\n]/g;

function malformed(message: string): InvalidInput {
  return new InvalidInput('voevent.malformed_xml', message);
}

/** Byte length of the payload, for the size limit (strings are measured as UTF-8). */
export function payloadBytes(input: string | Uint8Array): number {
  return typeof input === 'string' ? Buffer.byteLength(input, 'utf8') : input.byteLength;
}

/**
 * Bytes → string, honouring a BOM or the XML declaration's encoding. Invalid bytes are an error, never
 * replaced silently (a replaced byte in a number would change the alert).
 */
export function decodeXmlBytes(bytes: Uint8Array): string {
  const b = bytes;
  if (b.length >= 2 && b[0] === 0xfe && b[1] === 0xff) return strictDecode('utf-16be', b.subarray(2));
  if (b.length >= 2 && b[0] === 0xff && b[1] === 0xfe) return strictDecode('utf-16le', b.subarray(2));
  if (b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) return strictDecode('utf-8', b.subarray(3));
  // The declaration is ASCII-compatible in every encoding we accept without a BOM.
  const head = Buffer.from(b.buffer, b.byteOffset, Math.min(b.length, 256)).toString('latin1');
  const m = /^<\?xml\s[^?]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']/.exec(head);
  const enc = (m?.[1] ?? 'utf-8').toLowerCase();
  if (enc === 'utf-8' || enc === 'utf8') return strictDecode('utf-8', b);
  if (enc === 'us-ascii' || enc === 'ascii') {
    for (let i = 0; i < b.length; i++) if (b[i] > 0x7f) throw malformed(`byte 0x${b[i].toString(16)} at offset ${i} is not US-ASCII`);
    return Buffer.from(b.buffer, b.byteOffset, b.length).toString('latin1');
  }
  if (enc === 'iso-8859-1' || enc === 'latin1' || enc === 'latin-1' || enc === 'iso_8859-1') {
    return Buffer.from(b.buffer, b.byteOffset, b.length).toString('latin1');
  }
  throw malformed(`unsupported encoding '${m?.[1]}' (UTF-8, UTF-16, US-ASCII or ISO-8859-1 expected)`);
}

function strictDecode(enc: 'utf-8' | 'utf-16le' | 'utf-16be', b: Uint8Array): string {
  try {
    return new TextDecoder(enc, { fatal: true, ignoreBOM: true }).decode(b);
  } catch {
    throw malformed(`payload is not valid ${enc.toUpperCase()}`);
  }
}

// --- character classes (XML 1.0 5th edition names, simplified: any non-ASCII code unit is a name char)
function isNameStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c === 58 || c >= 0xc0;
}
function isNameChar(c: number): boolean {
  return isNameStart(c) || (c >= 48 && c <= 57) || c === 45 || c === 46 || c === 0xb7;
}
function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
}
function validChar(cp: number): boolean {
  return cp === 9 || cp === 10 || cp === 13 || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

/**
 * Namespace declarations in scope: each element that declares some gets its own small map chained to
 * its parent's (never a copy: copying the parent's scope per element is quadratic for a hostile
 * document that declares many prefixes high up). Lookups walk at most `maxDepth` links.
 */
interface Scope {
  own: Map<string, string>;
  parent: Scope | undefined;
  /** The default namespace in scope (resolved once per declaring element). */
  defaultNs: string;
}

function lookupPrefix(scope: Scope | undefined, prefix: string): string | undefined {
  for (let sc = scope; sc; sc = sc.parent) {
    const v = sc.own.get(prefix);
    if (v !== undefined) return v;
  }
  return undefined;
}

interface Frame {
  el: XmlElement;
  qname: string;
  scope: Scope | undefined;
}

/**
 * Parses a whole document and returns its root element.
 * @throws InvalidInput (`voevent.too_large`, `voevent.entity_declared`, `voevent.malformed_xml`)
 */
export function parseXml(input: string | Uint8Array, limits: Partial<XmlLimits> = {}): XmlElement {
  const lim = { ...DEFAULT_XML_LIMITS, ...limits };
  const size = payloadBytes(input);
  if (size > lim.maxBytes) throw new InvalidInput('voevent.too_large', `payload of ${size} bytes exceeds the ${lim.maxBytes}-byte limit`);
  let s = typeof input === 'string' ? input : decodeXmlBytes(input);
  if (s.charCodeAt(0) === 0xfeff) s = s.slice(1);
  return new Parser(s, lim).parse();
}

class Parser {
  private i = 0;
  private elements = 0;
  private attributes = 0;
  private readonly stack: Frame[] = [];
  private root: XmlElement | undefined;
  private readonly attrNames: string[] = [];
  private readonly attrValues: string[] = [];

  constructor(
    private readonly s: string,
    private readonly lim: XmlLimits,
  ) {}

  private where(at = this.i): string {
    let line = 1;
    let col = 1;
    for (let k = 0; k < at && k < this.s.length; k++) {
      if (this.s.charCodeAt(k) === 10) {
        line++;
        col = 1;
      } else col++;
    }
    return `line ${line}, column ${col}`;
  }

  private fail(message: string, at = this.i): InvalidInput {
    return malformed(`${message} at ${this.where(at)}`);
  }

  parse(): XmlElement {
    const s = this.s;
    const bad = FORBIDDEN_CHARS.exec(s);
    if (bad) throw this.fail(`character U+${bad[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')} is not allowed in XML`, bad.index);
    if (s.startsWith('<?xml') && (isSpace(s.charCodeAt(5)) || s.startsWith('?>', 5))) this.skipPi();
    while (this.i < s.length) {
      const lt = s.indexOf('<', this.i);
      const end = lt < 0 ? s.length : lt;
      if (end > this.i) this.text(this.i, end);
      if (lt < 0) break;
      this.i = lt;
      const c = s.charCodeAt(lt + 1);
      if (c === 33 /* ! */) this.markup();
      else if (c === 63 /* ? */) this.skipPi();
      else if (c === 47 /* / */) this.endTag();
      else this.startTag();
    }
    if (this.stack.length) throw this.fail(`unexpected end of document: <${this.stack[this.stack.length - 1].qname}> is not closed`, s.length);
    if (!this.root) throw this.fail('no root element', s.length);
    return this.root;
  }

  /** Character data between markup: decoded into the open element, or whitespace outside the root. */
  private text(from: number, to: number): void {
    const raw = this.s.slice(from, to);
    const top = this.stack[this.stack.length - 1];
    if (top) top.el.text += this.decode(raw, from);
    else if (!/^[ \t\r\n]*$/.test(raw)) throw this.fail(this.root ? 'text after the root element' : 'text before the root element', from);
  }

  /** Replaces the predefined entities and character references; anything else is an error. */
  private decode(raw: string, at: number): string {
    if (raw.indexOf('&') < 0) return raw;
    const parts: string[] = [];
    let k = 0;
    for (;;) {
      const amp = raw.indexOf('&', k);
      if (amp < 0) {
        parts.push(raw.slice(k));
        return parts.join('');
      }
      if (amp > k) parts.push(raw.slice(k, amp));
      const semi = raw.indexOf(';', amp + 1);
      if (semi < 0 || semi - amp > 12) throw this.fail("'&' that does not start an entity or character reference", at + amp);
      if (raw.charCodeAt(amp + 1) === 35 /* # */) {
        const hex = raw.charCodeAt(amp + 2) === 120; /* x */
        let cp = 0;
        let d = amp + (hex ? 3 : 2);
        if (d === semi) throw this.fail(`bad character reference '${raw.slice(amp, semi + 1)}'`, at + amp);
        for (; d < semi; d++) {
          const c = raw.charCodeAt(d);
          const v = c >= 48 && c <= 57 ? c - 48 : hex && c >= 97 && c <= 102 ? c - 87 : hex && c >= 65 && c <= 70 ? c - 55 : -1;
          if (v < 0) throw this.fail(`bad character reference '${raw.slice(amp, semi + 1)}'`, at + amp);
          cp = cp * (hex ? 16 : 10) + v;
        }
        if (!validChar(cp)) throw this.fail(`character reference '${raw.slice(amp, semi + 1)}' is not an allowed XML character`, at + amp);
        parts.push(String.fromCodePoint(cp));
      } else {
        const ref = raw.slice(amp + 1, semi);
        const v = PREDEFINED.get(ref);
        // (one Map lookup per reference: ~50 ns, 1 MiB of `&amp;` decodes in ~15 ms)
        if (v === undefined) throw this.fail(`reference to undeclared entity '&${ref};' (DTDs and entity expansion are disabled)`, at + amp);
        parts.push(v);
      }
      k = semi + 1;
    }
  }

  /** `<!--…-->`, `<![CDATA[…]]>`, or a declaration (refused). */
  private markup(): void {
    const s = this.s;
    const i = this.i;
    if (s.startsWith('<!--', i)) {
      const e = s.indexOf('-->', i + 4);
      if (e < 0) throw this.fail('unterminated comment', i);
      this.i = e + 3;
      return;
    }
    if (s.startsWith('<![CDATA[', i)) {
      const e = s.indexOf(']]>', i + 9);
      if (e < 0) throw this.fail('unterminated CDATA section', i);
      const top = this.stack[this.stack.length - 1];
      if (!top) throw this.fail('CDATA section outside the root element', i);
      top.el.text += s.slice(i + 9, e);
      this.i = e + 3;
      return;
    }
    const word = /^<!([A-Za-z]*)/.exec(s.slice(i, i + 16))?.[1].toUpperCase() ?? '';
    if (word === 'DOCTYPE' || word === 'ENTITY' || word === 'ELEMENT' || word === 'ATTLIST' || word === 'NOTATION') {
      throw new InvalidInput('voevent.entity_declared', `<!${word}> declaration at ${this.where(i)}: DTDs and entity declarations are refused (entity expansion is disabled)`);
    }
    throw this.fail(`unexpected markup '<!${word}'`, i);
  }

  /** Processing instruction (or the XML declaration, only allowed first): skipped. */
  private skipPi(): void {
    const s = this.s;
    const i = this.i;
    let k = i + 2;
    if (!isNameStart(s.charCodeAt(k))) throw this.fail('bad processing instruction', i);
    while (k < s.length && isNameChar(s.charCodeAt(k))) k++;
    const target = s.slice(i + 2, k);
    if (target.toLowerCase() === 'xml' && i !== 0) throw this.fail('XML declaration not at the start of the document', i);
    const e = s.indexOf('?>', k);
    if (e < 0) throw this.fail('unterminated processing instruction', i);
    this.i = e + 2;
  }

  private readName(what: string): string {
    const s = this.s;
    const start = this.i;
    if (!isNameStart(s.charCodeAt(start))) throw this.fail(`expected ${what}`, start);
    let k = start + 1;
    while (k < s.length && isNameChar(s.charCodeAt(k))) k++;
    this.i = k;
    return s.slice(start, k);
  }

  private skipSpace(): boolean {
    const s = this.s;
    const from = this.i;
    while (this.i < s.length && isSpace(s.charCodeAt(this.i))) this.i++;
    return this.i > from;
  }

  private startTag(): void {
    const s = this.s;
    const tagAt = this.i;
    this.i++;
    const qname = this.readName('an element name after <');
    // Attributes in two parallel arrays reused across elements (no per-attribute tuple, no message
    // strings built on the happy path: this loop runs for every element of every packet).
    const names = this.attrNames;
    const values = this.attrValues;
    names.length = 0;
    values.length = 0;
    // Duplicate check: a scan while the element has few attributes (no allocation), a Set from the
    // ninth on, so an element with n attributes costs O(n), never O(n²).
    let seen: Set<string> | undefined;
    let declaresNs = false;
    let prefixedAttr = false;
    let selfClose = false;
    for (;;) {
      const spaced = this.skipSpace();
      const c = s.charCodeAt(this.i);
      if (Number.isNaN(c)) throw this.fail(`unterminated start tag <${qname}>`, tagAt);
      if (c === 62 /* > */) {
        this.i++;
        break;
      }
      if (c === 47 /* / */) {
        if (s.charCodeAt(this.i + 1) !== 62) throw this.fail(`expected '>' after '/' in <${qname}>`);
        this.i += 2;
        selfClose = true;
        break;
      }
      if (!spaced) throw this.fail(`expected whitespace, '>' or '/>' in <${qname}>`);
      const attrAt = this.i;
      if (!isNameStart(c)) throw this.fail(`expected an attribute name in <${qname}>`);
      const an = this.readName('');
      this.skipSpace();
      if (s.charCodeAt(this.i) !== 61 /* = */) throw this.fail(`attribute '${an}' of <${qname}> has no value`);
      this.i++;
      this.skipSpace();
      const q = s.charCodeAt(this.i);
      if (q !== 34 && q !== 39) throw this.fail(`attribute '${an}' of <${qname}> must be quoted`);
      const close = s.indexOf(q === 34 ? '"' : "'", this.i + 1);
      if (close < 0) throw this.fail(`unterminated value of attribute '${an}'`, attrAt);
      const rawValue = s.slice(this.i + 1, close);
      const lt = rawValue.indexOf('<');
      if (lt >= 0) throw this.fail(`'<' in the value of attribute '${an}'`, this.i + 1 + lt);
      const n = names.length;
      if (n >= this.lim.maxAttributes) throw this.fail(`more than ${this.lim.maxAttributes} attributes in <${qname}>`, attrAt);
      if (++this.attributes > this.lim.maxAttributesTotal) throw this.fail(`more than ${this.lim.maxAttributesTotal} attributes in the document`, attrAt);
      if (seen) {
        if (seen.has(an)) throw this.fail(`duplicate attribute '${an}' in <${qname}>`, attrAt);
        seen.add(an);
      } else {
        for (let k = 0; k < n; k++) if (names[k] === an) throw this.fail(`duplicate attribute '${an}' in <${qname}>`, attrAt);
        if (n === 8) seen = new Set([...names, an]);
      }
      if (an.charCodeAt(0) === 120 /* x */ && (an === 'xmlns' || an.startsWith('xmlns:'))) declaresNs = true;
      else if (an.indexOf(':') > 0) prefixedAttr = true;
      // Attribute-value normalisation (XML 1.0 §3.3.3): literal TAB/CR/LF become spaces.
      const v = this.decode(rawValue, this.i + 1);
      names.push(an);
      values.push(NORMALISE.test(v) ? v.replace(NORMALISE_ALL, ' ') : v);
      this.i = close + 1;
    }
    if (++this.elements > this.lim.maxElements) throw this.fail(`more than ${this.lim.maxElements} elements`, tagAt);

    const parent = this.stack[this.stack.length - 1];
    if (!parent && this.root) throw this.fail(`second root element <${qname}>`, tagAt);
    // Namespace declarations of this element, then names.
    let scope = parent?.scope;
    if (declaresNs) {
      scope = { own: new Map(), parent: parent?.scope, defaultNs: parent?.scope?.defaultNs ?? '' };
      for (let k = 0; k < names.length; k++) {
        const an = names[k];
        if (an !== 'xmlns' && !an.startsWith('xmlns:')) continue;
        const p = an === 'xmlns' ? '' : an.slice(6);
        scope.own.set(p, values[k]);
        if (p === '') scope.defaultNs = values[k];
      }
    }
    const colon = qname.indexOf(':');
    const prefix = colon > 0 ? qname.slice(0, colon) : '';
    const attrs = Object.create(null) as Record<string, string>;
    const el: XmlElement = {
      name: colon > 0 ? qname.slice(colon + 1) : qname,
      ns: prefix === 'xml' ? XML_NS : prefix === '' ? (scope?.defaultNs ?? '') : (lookupPrefix(scope, prefix) ?? ''),
      attrs,
      children: [],
      text: '',
    };
    // Unprefixed attributes first so that they win a clash of local names with prefixed ones.
    for (let k = 0; k < names.length; k++) {
      const an = names[k];
      if (an.indexOf(':') < 0 && an !== 'xmlns') attrs[an] = values[k];
    }
    if (prefixedAttr) {
      for (let k = 0; k < names.length; k++) {
        const an = names[k];
        const ac = an.indexOf(':');
        if (ac <= 0 || an.startsWith('xmlns:')) continue;
        const local = an.slice(ac + 1);
        if (!(local in attrs)) attrs[local] = values[k];
      }
    }
    if (parent) parent.el.children.push(el);
    else this.root = el;
    if (!selfClose) {
      if (this.stack.length >= this.lim.maxDepth) throw this.fail(`elements nested deeper than ${this.lim.maxDepth}`, tagAt);
      this.stack.push({ el, qname, scope });
    }
  }

  private endTag(): void {
    const at = this.i;
    this.i += 2;
    const qname = this.readName('an element name after </');
    this.skipSpace();
    if (this.s.charCodeAt(this.i) !== 62) throw this.fail(`expected '>' to close </${qname}>`);
    this.i++;
    const open = this.stack.pop();
    if (!open) throw this.fail(`end tag </${qname}> without a start tag`, at);
    if (open.qname !== qname) throw this.fail(`end tag </${qname}> does not match <${open.qname}>`, at);
  }
}

// --- navigation helpers (by local name)

export function child(el: XmlElement | undefined, name: string): XmlElement | undefined {
  return el?.children.find((c) => c.name === name);
}

export function childrenNamed(el: XmlElement | undefined, name: string): XmlElement[] {
  return el ? el.children.filter((c) => c.name === name) : [];
}

/** Follows a chain of child names; undefined as soon as one is missing. */
export function path(el: XmlElement | undefined, ...names: string[]): XmlElement | undefined {
  let cur = el;
  for (const n of names) cur = child(cur, n);
  return cur;
}

/** Every descendant with that local name, document order. */
export function descendants(el: XmlElement, name: string): XmlElement[] {
  const out: XmlElement[] = [];
  const walk = (e: XmlElement) => {
    for (const c of e.children) {
      if (c.name === name) out.push(c);
      walk(c);
    }
  };
  walk(el);
  return out;
}

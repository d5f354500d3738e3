/**
 * FITS headers: 80-character card images in 2880-byte blocks (FITS Standard 4.0, section 4).
 *
 * Parsing covers fixed and free format values, quoted strings with '' escapes, the CONTINUE long-string
 * convention (merged into one card), the HIERARCH convention (key stored without the HIERARCH prefix),
 * logical, integer and real values (D exponents included), undefined values, and commentary cards
 * (COMMENT, HISTORY, blank keyword: the text is the card's value).
 * Formatting writes the same conventions back: long strings become CONTINUE cards, keys that are not
 * standard 8-character keywords become HIERARCH cards.
 */
import { FitsError } from './errors.ts';

export type CardValue = string | number | boolean | null;

/** One header entry. COMMENT/HISTORY/blank cards: `value` is the text. */
export interface FitsCard {
  key: string;
  value?: CardValue;
  comment?: string;
}

export const BLOCK = 2880;
export const CARD = 80;
const COMMENTARY = new Set(['COMMENT', 'HISTORY', '']);

/** Normalised lookup key: upper case, without a HIERARCH prefix. */
export function normKey(key: string): string {
  let k = key.trim().toUpperCase();
  if (k.startsWith('HIERARCH ')) k = k.slice(9).trim();
  return k;
}

export class Header {
  cards: FitsCard[];

  constructor(cards: FitsCard[] = []) {
    this.cards = cards.map((c) => ({ ...c }));
  }

  private find(key: string): FitsCard | undefined {
    const k = normKey(key);
    for (const c of this.cards) if (normKey(c.key) === k) return c;
    return undefined;
  }

  /** Value of the first card with this key (case-insensitive; HIERARCH keys without the prefix). */
  get(key: string): CardValue | undefined {
    return this.find(key)?.value;
  }

  /** Numeric value, or undefined when the card is absent or not a number. */
  getNumber(key: string): number | undefined {
    const v = this.get(key);
    return typeof v === 'number' ? v : undefined;
  }

  /** String value, or undefined when the card is absent or not a string. */
  getString(key: string): string | undefined {
    const v = this.get(key);
    return typeof v === 'string' ? v : undefined;
  }

  getBoolean(key: string): boolean | undefined {
    const v = this.get(key);
    return typeof v === 'boolean' ? v : undefined;
  }

  /** Values of every card with this key, e.g. all HISTORY texts. */
  getAll(key: string): CardValue[] {
    const k = normKey(key);
    return this.cards.filter((c) => normKey(c.key) === k).map((c) => c.value ?? null);
  }

  has(key: string): boolean {
    return this.find(key) !== undefined;
  }

  /** Updates the first card with this key (keeping its comment unless one is given) or appends one. */
  set(key: string, value: CardValue, comment?: string): void {
    const k = normKey(key);
    if (COMMENTARY.has(k)) {
      this.cards.push({ key: k, value });
      return;
    }
    const c = this.find(key);
    if (c) {
      c.value = value;
      if (comment !== undefined) c.comment = comment;
    } else {
      this.cards.push(comment === undefined ? { key: k, value } : { key: k, value, comment });
    }
  }

  /** Removes every card with this key; returns how many were removed. */
  delete(key: string): number {
    const k = normKey(key);
    const before = this.cards.length;
    this.cards = this.cards.filter((c) => normKey(c.key) !== k);
    return before - this.cards.length;
  }

  history(text: string): void {
    this.cards.push({ key: 'HISTORY', value: text });
  }

  comment(text: string): void {
    this.cards.push({ key: 'COMMENT', value: text });
  }

  /** Plain object of key → value (first occurrence; commentary cards left out), handy for JSON. */
  toObject(): Record<string, CardValue> {
    const out: Record<string, CardValue> = {};
    for (const c of this.cards) {
      const k = normKey(c.key);
      if (COMMENTARY.has(k) || k in out) continue;
      out[k] = c.value ?? null;
    }
    return out;
  }

  /** The card images, one per line (without END), as a FITS reader would show them. */
  toString(): string {
    return this.cards.flatMap(formatCard).join('\n');
  }
}

// ---------------------------------------------------------------------------------------------
// Parsing

const INT_RE = /^[+-]?\d+$/;
const REAL_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[EeDd][+-]?\d+)?$/;

interface ParsedValue {
  value: CardValue;
  comment?: string;
}

function parseValueField(v: string): ParsedValue {
  let i = 0;
  while (i < v.length && v[i] === ' ') i++;
  if (v[i] === "'") {
    let s = '';
    let j = i + 1;
    for (;;) {
      const q = v.indexOf("'", j);
      if (q < 0) {
        s += v.slice(j); // unterminated string: take the rest, leniently
        j = v.length;
        break;
      }
      s += v.slice(j, q);
      if (v[q + 1] === "'") {
        s += "'";
        j = q + 2;
      } else {
        j = q + 1;
        break;
      }
    }
    const slash = v.indexOf('/', j);
    const comment = slash >= 0 ? v.slice(slash + 1).trim() : '';
    return comment ? { value: s.trimEnd(), comment } : { value: s.trimEnd() };
  }
  const slash = v.indexOf('/', i);
  const raw = (slash >= 0 ? v.slice(i, slash) : v.slice(i)).trim();
  const comment = slash >= 0 ? v.slice(slash + 1).trim() : '';
  let value: CardValue;
  if (raw === '') value = null;
  else if (raw === 'T') value = true;
  else if (raw === 'F') value = false;
  else if (INT_RE.test(raw)) value = Number(raw);
  else if (REAL_RE.test(raw)) value = Number(raw.replace(/[Dd]/, 'E'));
  else value = raw; // complex values and non-standard tokens are kept verbatim
  return comment ? { value, comment } : { value };
}

/** Parses one 80-character card image. `continued` marks a CONTINUE card carrying a string. */
export function parseCard(s: string): FitsCard & { continued?: boolean } {
  const kw = s.slice(0, 8).trimEnd();
  if (kw === 'HIERARCH') {
    const rest = s.slice(8);
    const eq = rest.indexOf('=');
    if (eq < 0) return { key: 'HIERARCH', value: rest.trim() };
    const p = parseValueField(rest.slice(eq + 1));
    return { key: rest.slice(0, eq).trim(), ...p };
  }
  if (kw === 'CONTINUE') {
    const p = parseValueField(s.slice(8));
    if (typeof p.value === 'string' && s.slice(8).trimStart().startsWith("'")) return { key: 'CONTINUE', ...p, continued: true };
    return { key: 'CONTINUE', value: s.slice(8).trimEnd() };
  }
  if (COMMENTARY.has(kw)) return { key: kw, value: s.slice(8).trimEnd() };
  if (s[8] === '=' && (s[9] === ' ' || s.length === 9)) return { key: kw, ...parseValueField(s.slice(10)) };
  // A keyword without a value indicator: commentary-style card.
  return { key: kw, value: s.slice(8).trimEnd() };
}

/**
 * Scans header blocks from `offset` until the END card.
 * Returns the cards (CONTINUE merged) and the offset just past the header's last block,
 * or `null` if the buffer ends before END (the caller decides whether that is truncation).
 */
export function parseHeaderBlocks(buf: Uint8Array, offset: number): { cards: FitsCard[]; end: number } | null {
  const cards: FitsCard[] = [];
  const n = buf.length;
  let pos = offset;
  let last: (FitsCard & { continued?: boolean }) | undefined;
  const dec = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  while (pos + BLOCK <= n) {
    for (let c = 0; c < BLOCK; c += CARD) {
      const at = pos + c;
      // Fast check for END: 'E' 'N' 'D' then five spaces.
      if (dec[at] === 0x45 && dec[at + 1] === 0x4e && dec[at + 2] === 0x44 && isBlank(dec, at + 3, at + 8)) {
        return { cards, end: pos + BLOCK };
      }
      const card = parseCard(dec.toString('latin1', at, at + CARD));
      if (card.continued && last && typeof last.value === 'string' && last.value.endsWith('&')) {
        last.value = last.value.slice(0, -1) + (card.value as string);
        if (card.comment) last.comment = last.comment ? `${last.comment} ${card.comment}` : card.comment;
        continue;
      }
      delete card.continued;
      cards.push(card);
      last = card;
    }
    pos += BLOCK;
  }
  return null;
}

function isBlank(b: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (b[i] !== 0x20) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// Formatting

const STD_KEY = /^[A-Z0-9_-]{1,8}$/;

function checkAscii(s: string, what: string): void {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) throw new FitsError('BAD_VALUE', `${what} contains a character FITS headers cannot hold (code ${c}): ${JSON.stringify(s)}`);
  }
}

/** Real number text that reads back to the same double and always looks real (has '.' or exponent). */
export function formatReal(n: number): string {
  if (!Number.isFinite(n)) throw new FitsError('BAD_VALUE', `FITS headers cannot hold ${n}`);
  let s = String(n).toUpperCase();
  if (!s.includes('.')) {
    const e = s.indexOf('E');
    s = e >= 0 ? `${s.slice(0, e)}.0${s.slice(e)}` : `${s}.0`;
  }
  return s;
}

function formatScalar(v: number | boolean): string {
  if (typeof v === 'boolean') return v ? 'T' : 'F';
  if (Number.isInteger(v) && Math.abs(v) < 1e21) return String(v);
  return formatReal(v);
}

function quote(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

function withComment(card: string, comment: string | undefined): string {
  if (comment) {
    checkAscii(comment, 'comment');
    card += ` / ${comment}`;
  }
  return card.length > CARD ? card.slice(0, CARD) : card.padEnd(CARD);
}

/** One card (or several, for long strings and long commentary) as 80-character images. */
export function formatCard(card: FitsCard): string[] {
  const rawKey = card.key.trim();
  const up = rawKey.toUpperCase();
  checkAscii(rawKey, 'keyword');
  if (COMMENTARY.has(up)) {
    const text = card.value == null ? '' : String(card.value);
    checkAscii(text, `${up || 'blank'} card`);
    const out: string[] = [];
    for (let i = 0; i < text.length || i === 0; i += 72) out.push((up.padEnd(8) + text.slice(i, i + 72)).padEnd(CARD));
    return out;
  }
  const value = card.value === undefined ? null : card.value;
  if (typeof value === 'number' && !Number.isFinite(value)) {
    throw new FitsError('BAD_VALUE', `header card ${rawKey}: FITS headers cannot hold ${value}`);
  }
  if (!STD_KEY.test(up)) {
    // HIERARCH convention: free-form key, keeps its case.
    let key = rawKey;
    if (up.startsWith('HIERARCH ')) key = rawKey.slice(9).trim();
    const v = value === null ? '' : typeof value === 'string' ? quote(value) : formatScalar(value);
    if (typeof value === 'string') checkAscii(value, `value of ${key}`);
    const base = `HIERARCH ${key} = ${v}`;
    if (base.length > CARD) throw new FitsError('BAD_VALUE', `HIERARCH card ${key} does not fit in 80 characters`);
    return [withComment(base, card.comment)];
  }
  const head = `${up.padEnd(8)}= `;
  if (value === null) return [withComment(head.padEnd(30), card.comment)];
  if (typeof value !== 'string') return [withComment(head + formatScalar(value).padStart(20), card.comment)];
  checkAscii(value, `value of ${up}`);
  const q = quote(value.length < 8 ? value.padEnd(8) : value);
  if (q.length <= 70) return [withComment(head + q.padEnd(20), card.comment)];
  // CONTINUE long-string convention: segments end with '&', the last one carries the comment.
  const segs: string[] = [];
  let cur = '';
  let curLen = 0;
  for (const ch of value) {
    const l = ch === "'" ? 2 : 1;
    if (curLen + l > 67) {
      segs.push(cur);
      cur = '';
      curLen = 0;
    }
    cur += ch;
    curLen += l;
  }
  segs.push(cur);
  const out: string[] = [];
  segs.forEach((seg, i) => {
    const lastSeg = i === segs.length - 1;
    const body = quote(lastSeg ? seg : seg + '&');
    const prefix = i === 0 ? head : 'CONTINUE  ';
    out.push(lastSeg ? withComment(prefix + body, card.comment) : (prefix + body).padEnd(CARD));
  });
  return out;
}

/** Serialises cards + END, padded with spaces to a multiple of 2880 bytes. */
export function formatHeader(cards: FitsCard[]): Buffer {
  const lines: string[] = [];
  let longstrn = cards.some((c) => normKey(c.key) === 'LONGSTRN');
  for (const c of cards) {
    const l = formatCard(c);
    if (!longstrn && l.length > 1 && l[1].startsWith('CONTINUE')) {
      // Declare the OGIP long-string convention before its first use (fitsverify asks for it).
      lines.push(...formatCard({ key: 'LONGSTRN', value: 'OGIP 1.0', comment: 'The OGIP long string convention may be used' }));
      longstrn = true;
    }
    lines.push(...l);
  }
  lines.push('END'.padEnd(CARD));
  const text = lines.join('');
  const size = Math.ceil(text.length / BLOCK) * BLOCK;
  const buf = Buffer.alloc(size, 0x20);
  buf.write(text, 0, 'latin1');
  return buf;
}

/**
 * Binary tables (FITS Standard 4.0, section 7.3) and ASCII tables (section 7.2): column layout,
 * reading columns, and encoding the binary tables we write.
 */
import { FitsError } from './errors.ts';
import type { Header } from './header.ts';

export interface BinColumn {
  index: number; // 1-based
  name: string;
  /** Type letter: L X B I J K A E D C M P Q */
  type: string;
  repeat: number;
  /** For P/Q descriptors: the element type of the heap array. */
  heapType?: string;
  offset: number; // byte offset within the row
  width: number; // bytes in the row
  unit?: string;
  tscal: number;
  tzero: number;
  tnull?: number;
}

const SIZES: Record<string, number> = { L: 1, X: 0, B: 1, I: 2, J: 4, K: 8, A: 1, E: 4, D: 8, C: 8, M: 16, P: 8, Q: 16 };

export function parseTform(tform: string): { repeat: number; type: string; heapType?: string } {
  const m = /^\s*(\d*)([LXBIJKAEDCMPQ])([LXBIJKAEDCM])?/.exec(tform.toUpperCase());
  if (!m) throw new FitsError('BAD_HEADER', `unsupported TFORM '${tform}'`);
  const repeat = m[1] === '' ? 1 : Number(m[1]);
  return m[3] ? { repeat, type: m[2], heapType: m[3] } : { repeat, type: m[2] };
}

export function binColumns(h: Header, name: string): BinColumn[] {
  const n = h.getNumber('TFIELDS') ?? 0;
  const rowBytes = h.getNumber('NAXIS1') ?? 0;
  const cols: BinColumn[] = [];
  let offset = 0;
  for (let i = 1; i <= n; i++) {
    const tform = h.getString(`TFORM${i}`);
    if (tform === undefined) throw new FitsError('BAD_HEADER', `${name}: TFORM${i} is missing`);
    const f = parseTform(tform);
    const width = f.type === 'X' ? Math.ceil(f.repeat / 8) : f.repeat * SIZES[f.type];
    const col: BinColumn = {
      index: i,
      name: (h.getString(`TTYPE${i}`) ?? `COL${i}`).trim(),
      type: f.type,
      repeat: f.repeat,
      offset,
      width,
      tscal: h.getNumber(`TSCAL${i}`) ?? 1,
      tzero: h.getNumber(`TZERO${i}`) ?? 0,
    };
    if (f.heapType) col.heapType = f.heapType;
    const unit = h.getString(`TUNIT${i}`);
    if (unit !== undefined) col.unit = unit;
    const tnull = h.getNumber(`TNULL${i}`);
    if (tnull !== undefined) col.tnull = tnull;
    cols.push(col);
    offset += width;
  }
  if (offset !== rowBytes) throw new FitsError('BAD_HEADER', `${name}: the columns take ${offset} bytes per row but NAXIS1 = ${rowBytes}`);
  return cols;
}

export type ColumnValues = Float64Array | Float32Array | Int32Array | string[] | boolean[];

function dv(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Decodes every fixed-width column of a binary table (P/Q heap columns are left out). */
export function decodeBinTable(data: Uint8Array, h: Header, name: string): { rows: number; columns: Record<string, ColumnValues> } {
  const cols = binColumns(h, name);
  const rowBytes = h.getNumber('NAXIS1') ?? 0;
  const rows = h.getNumber('NAXIS2') ?? 0;
  const v = dv(data);
  const out: Record<string, ColumnValues> = {};
  for (const c of cols) {
    if (c.type === 'P' || c.type === 'Q' || c.type === 'X' || c.type === 'C' || c.type === 'M') continue;
    const n = rows * c.repeat;
    const scaled = c.tscal !== 1 || c.tzero !== 0;
    let arr: ColumnValues;
    if (c.type === 'A') {
      const s: string[] = new Array(rows);
      const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      for (let r = 0; r < rows; r++) {
        const at = r * rowBytes + c.offset;
        let end = at + c.width;
        const nul = buf.indexOf(0, at);
        if (nul >= 0 && nul < end) end = nul;
        s[r] = buf.toString('latin1', at, end).trimEnd();
      }
      arr = s;
    } else if (c.type === 'L') {
      const b: boolean[] = new Array(n);
      for (let r = 0; r < rows; r++) for (let k = 0; k < c.repeat; k++) b[r * c.repeat + k] = data[r * rowBytes + c.offset + k] === 0x54;
      arr = b;
    } else {
      const size = SIZES[c.type];
      const get = (at: number): number => {
        switch (c.type) {
          case 'B':
            return data[at];
          case 'I':
            return v.getInt16(at);
          case 'J':
            return v.getInt32(at);
          case 'K':
            return Number(v.getBigInt64(at));
          case 'E':
            return v.getFloat32(at);
          default:
            return v.getFloat64(at);
        }
      };
      const a =
        scaled || c.type === 'D' || c.type === 'K' ? new Float64Array(n) : c.type === 'E' ? new Float32Array(n) : new Int32Array(n);
      const isInt = c.type === 'B' || c.type === 'I' || c.type === 'J' || c.type === 'K';
      for (let r = 0; r < rows; r++) {
        for (let k = 0; k < c.repeat; k++) {
          const raw = get(r * rowBytes + c.offset + k * size);
          if (isInt && scaled && c.tnull !== undefined && raw === c.tnull) a[r * c.repeat + k] = NaN;
          else a[r * c.repeat + k] = scaled ? raw * c.tscal + c.tzero : raw;
        }
      }
      arr = a;
    }
    out[c.name] = arr;
  }
  return { rows, columns: out };
}

/** Decodes an ASCII table (TBCOLn/TFORMn: Aw, Iw, Fw.d, Ew.d, Dw.d). */
export function decodeAsciiTable(data: Uint8Array, h: Header): { rows: number; columns: Record<string, ColumnValues> } {
  const n = h.getNumber('TFIELDS') ?? 0;
  const rowBytes = h.getNumber('NAXIS1') ?? 0;
  const rows = h.getNumber('NAXIS2') ?? 0;
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const out: Record<string, ColumnValues> = {};
  for (let i = 1; i <= n; i++) {
    const name = (h.getString(`TTYPE${i}`) ?? `COL${i}`).trim();
    const m = /^\s*([AIFED])(\d+)/.exec((h.getString(`TFORM${i}`) ?? '').toUpperCase());
    const col = (h.getNumber(`TBCOL${i}`) ?? 1) - 1;
    if (!m) continue;
    const w = Number(m[2]);
    const tscal = h.getNumber(`TSCAL${i}`) ?? 1;
    const tzero = h.getNumber(`TZERO${i}`) ?? 0;
    const cell = (r: number) => buf.toString('latin1', r * rowBytes + col, r * rowBytes + col + w);
    if (m[1] === 'A') {
      const s: string[] = [];
      for (let r = 0; r < rows; r++) s.push(cell(r).trimEnd());
      out[name] = s;
    } else {
      const a = m[1] === 'I' && tscal === 1 && tzero === 0 ? new Int32Array(rows) : new Float64Array(rows);
      for (let r = 0; r < rows; r++) {
        const t = cell(r).trim().replace(/[Dd]/, 'E');
        a[r] = t === '' ? NaN : Number(t) * tscal + tzero;
      }
      out[name] = a;
    }
  }
  return { rows, columns: out };
}

// ---------------------------------------------------------------------------------------------
// Writing

export interface TableColumn {
  name: string;
  format: 'D' | 'E' | 'J' | 'K' | 'I' | 'L' | `${number}A`;
  unit?: string;
  values: ArrayLike<number> | string[] | boolean[];
}

/** Encodes columns into the main table bytes. Returns row size, row count and the data. */
export function encodeBinTable(columns: TableColumn[], extname: string): { rowBytes: number; rows: number; data: Buffer; tforms: string[] } {
  if (columns.length === 0) throw new FitsError('BAD_VALUE', `table ${extname}: no columns`);
  const rows = columns[0].values.length;
  const layout = columns.map((c) => {
    if (c.values.length !== rows) {
      throw new FitsError('BAD_VALUE', `table ${extname}: column ${c.name} has ${c.values.length} values, ${columns[0].name} has ${rows}`);
    }
    const m = /^(\d+)A$/.exec(c.format);
    if (m) {
      const w = Number(m[1]);
      if (!(w > 0)) throw new FitsError('BAD_VALUE', `table ${extname}: column ${c.name}: bad format ${c.format}`);
      return { width: w, tform: `${w}A` };
    }
    const size = SIZES[c.format];
    if (!size || !'DEJKIL'.includes(c.format)) throw new FitsError('BAD_VALUE', `table ${extname}: column ${c.name}: unsupported format ${c.format}`);
    return { width: size, tform: `1${c.format}` };
  });
  const rowBytes = layout.reduce((s, l) => s + l.width, 0);
  const data = Buffer.alloc(rowBytes * rows);
  const v = dv(data);
  let off = 0;
  columns.forEach((c, ci) => {
    const w = layout[ci].width;
    const vals = c.values as ArrayLike<unknown>;
    for (let r = 0; r < rows; r++) {
      const at = r * rowBytes + off;
      const x = vals[r];
      switch (c.format) {
        case 'D':
          v.setFloat64(at, Number(x));
          break;
        case 'E':
          v.setFloat32(at, Number(x));
          break;
        case 'L':
          data[at] = x === true ? 0x54 : x === false ? 0x46 : 0;
          break;
        case 'I':
        case 'J':
        case 'K': {
          const n = Math.round(Number(x));
          if (!Number.isFinite(n)) throw new FitsError('BAD_VALUE', `table ${extname}: column ${c.name} row ${r}: ${x} in an integer column`);
          if (c.format === 'I') {
            if (n < -32768 || n > 32767) throw new FitsError('BAD_VALUE', `table ${extname}: column ${c.name} row ${r}: ${n} does not fit in 16 bits`);
            v.setInt16(at, n);
          } else if (c.format === 'J') {
            if (n < -2147483648 || n > 2147483647) throw new FitsError('BAD_VALUE', `table ${extname}: column ${c.name} row ${r}: ${n} does not fit in 32 bits`);
            v.setInt32(at, n);
          } else v.setBigInt64(at, BigInt(n));
          break;
        }
        default: {
          const s = x == null ? '' : String(x);
          if (s.length > w) throw new FitsError('BAD_VALUE', `table ${extname}: column ${c.name} row ${r}: '${s}' is longer than ${w} characters`);
          for (let k = 0; k < s.length; k++) {
            const code = s.charCodeAt(k);
            if (code < 0x20 || code > 0x7e) throw new FitsError('BAD_VALUE', `table ${extname}: column ${c.name} row ${r}: non-ASCII text`);
            data[at + k] = code;
          }
        }
      }
    }
    off += w;
  });
  return { rowBytes, rows, data, tforms: layout.map((l) => l.tform) };
}

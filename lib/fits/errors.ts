/** Typed errors of the FITS reader/writer: callers (the images provider, the DLQ) switch on `code`. */
export type FitsErrorCode =
  | 'NOT_FITS' // the file does not start with a SIMPLE card
  | 'TRUNCATED' // the file ends inside a header or before the end of a data unit
  | 'BAD_HEADER' // a mandatory keyword is missing or has an impossible value
  | 'BAD_BITPIX' // BITPIX (or ZBITPIX) is not one of 8, 16, 32, 64, -32, -64
  | 'NO_SUCH_HDU' // the requested HDU index or EXTNAME does not exist
  | 'NO_IMAGE' // the file or HDU holds no image data
  | 'NOT_A_TABLE' // readTable on an HDU that is not a table
  | 'UNSUPPORTED' // a valid FITS feature we do not implement (e.g. HCOMPRESS)
  | 'CORRUPT' // compressed data cannot be decoded
  | 'BAD_VALUE' // the writer was given a value FITS cannot hold
  | 'IO'; // the file cannot be opened or read

export class FitsError extends Error {
  readonly code: FitsErrorCode;
  /** A bad file is bad input (dead-lettered by the stage runner); an unreadable one (IO) may come back. */
  readonly retriable: boolean;
  constructor(code: FitsErrorCode, message: string) {
    super(message);
    this.name = 'FitsError';
    this.code = code;
    this.retriable = code === 'IO';
  }
}

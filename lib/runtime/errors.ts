/**
 * Failure classes of the stage runtime. The runner classifies every failure itself before kafkajs
 * sees it (a plain Error thrown into kafkajs is retried and then replays from the last commit
 * forever; a TypeError stops the consumer for good):
 *
 * - `retriable === true`  → transient (broker, registry, ClickHouse, storage): retried in place with
 *   backoff, the message is not skipped, nothing is committed past it.
 * - `retriable === false` → the input itself is bad: sent to `<stage>.dlq` with the reason and the
 *   original bytes; the stage goes on.
 * - anything else (a bug) → treated as invalid input for that message (DLQ, code `stage.unhandled`),
 *   so one poison message never stops a stage; the DLQ breaker stops the stage when most fail.
 *
 * Every error has a stable dotted `code` (names are API: dashboards and DLQ consumers group by it).
 */
export class StageError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly retriable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = retriable ? 'RetriableError' : 'InvalidInputError';
  }
}

/** The input is bad: DLQ it, never retry. */
export function invalidInput(code: string, message: string, cause?: unknown): StageError {
  return new StageError(code, message, false, { cause });
}

/** A dependency is unavailable: retry with backoff. */
export function retriable(code: string, message: string, cause?: unknown): StageError {
  return new StageError(code, message, true, { cause });
}

/** The stage must stop (breaker open, config broken); the process exits non-zero, nothing is committed past it. */
export class FatalStageError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
    this.name = 'FatalStageError';
  }
}

const RETRIABLE_SYSCALL = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND', 'EHOSTUNREACH', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT']);

export interface Classified {
  retriable: boolean;
  code: string;
  message: string;
}

/** Classifies any thrown value. Errors carrying `retriable: boolean` (ours, and other modules' typed errors) decide for themselves. */
export function classify(err: unknown): Classified {
  const e = err as { code?: unknown; retriable?: unknown; message?: unknown; name?: unknown; cause?: unknown };
  const message = typeof e?.message === 'string' ? e.message : String(err);
  // kafkajs gave up retrying: what matters is what it gave up on (brokers away for longer than its
  // retries, e.g. a broker restart under load: the dependency is unavailable, not the input bad)
  if (e?.name === 'KafkaJSNumberOfRetriesExceeded' && e.cause && e.cause !== err) return classify(e.cause);
  if (e && typeof e.retriable === 'boolean') {
    return { retriable: e.retriable, code: typeof e.code === 'string' ? e.code : e.retriable ? 'dependency.unavailable' : 'input.invalid', message };
  }
  const sys = typeof e?.code === 'string' ? e.code : typeof (e?.cause as { code?: unknown })?.code === 'string' ? String((e.cause as { code: string }).code) : '';
  if (RETRIABLE_SYSCALL.has(sys)) return { retriable: true, code: `network.${sys.toLowerCase()}`, message };
  const name = typeof e?.name === 'string' ? e.name : '';
  // kafkajs marks its own transient errors; the registry client throws ConfluentSchemaRegistryError on HTTP errors.
  if (name.startsWith('KafkaJS') && (e as { retriable?: boolean }).retriable !== false) return { retriable: true, code: 'kafka.unavailable', message };
  if (name === 'TypeError' && /fetch failed/.test(message)) return { retriable: true, code: 'network.fetch_failed', message };
  return { retriable: false, code: 'stage.unhandled', message };
}

// The architecture, stated as lint rules (`npm run lint`, run by `gft test` and CI):
// - a stage's science in `core/` does no Kafka, no runtime, no storage and no file or thread I/O
//   (that is the wiring's job, at the stage's edge);
// - `lib/` and `connectors/` never depend on the stages (`streams/`).
// Files that break a rule today are listed in KNOWN with the reason; the list only shrinks.
import tseslint from 'typescript-eslint';

const IO = ['fs', 'node:fs', 'fs/promises', 'node:fs/promises', 'worker_threads', 'node:worker_threads', 'child_process', 'node:child_process'];
const coreRule = {
  paths: [...IO, 'kafkajs', '@kafkajs/confluent-schema-registry', '@clickhouse/client'].map((name) => ({ name, message: 'core/ is pure science: no Kafka, storage, file or thread I/O (move it to the stage wiring)' })),
  patterns: [{ group: ['**/lib/runtime/**', '**/connectors/**'], message: 'core/ may not depend on the runtime or the connectors (move it to the stage wiring)' }],
};
const noStreams = { patterns: [{ group: ['**/streams/**'], message: 'lib/ and connectors/ may not depend on the stages (streams/)' }] };

/** core/ files that still do I/O (issue 17: move it to the edge; the list only shrinks). */
const KNOWN = [
  'streams/gp1/core/calibration/io.ts', // reads and writes master/frame files for the offline gp1 commands
  'streams/gp1/core/calibration/pool.ts', // the calibration worker pool
  'streams/gp1/core/calibration/pool.worker.ts',
  'streams/gp1/core/camera.ts', // reads camera JSON files
  'streams/provider/core/simulate/write.ts', // writes the synthetic night's files
];
/** lib/ or connectors/ files that still use a stage's code. */
const KNOWN_EDGE = [
  'connectors/voevent/vtp.ts', // VTP transport: the VOEvent XML parser of the alerts core (its size limits and error codes)
];

export default [
  { ignores: ['node_modules/**', '.gft/**', 'out/**', '**/*.d.ts', 'web/static/**'] },
  { files: ['**/*.ts'], languageOptions: { parser: tseslint.parser, parserOptions: { sourceType: 'module' } } },
  { files: ['streams/**/core/**/*.ts'], ignores: [...KNOWN, '**/*.test.ts'], rules: { 'no-restricted-imports': ['error', coreRule] } },
  { files: ['lib/**/*.ts', 'connectors/**/*.ts'], ignores: [...KNOWN_EDGE, '**/*.test.ts'], rules: { 'no-restricted-imports': ['error', noStreams] } },
];

/**
 * The one error class of the alerts core. Everything the core rejects is *bad input*: the runner
 * dead-letters the message with `code` as the reason and never retries it (`retriable` is false); the
 * raw bytes stay on the raw VOEvent topic. Codes are API (DLQ consumers and dashboards group by them):
 *
 * | code                      | meaning                                                                |
 * |---------------------------|------------------------------------------------------------------------|
 * | voevent.too_large         | payload above the size limit (1 MiB by default), rejected before parsing |
 * | voevent.entity_declared   | a DOCTYPE / ENTITY declaration: entity expansion is disabled           |
 * | voevent.malformed_xml     | not well-formed XML (or bad encoding, or nesting/element limits)       |
 * | voevent.not_voevent       | well-formed XML whose root element is not <VOEvent>                    |
 * | voevent.missing_field     | a required field is absent (e.g. the ivorn attribute)                 |
 * | voevent.bad_value         | a field has the wrong type or an impossible value                      |
 */
export type InvalidInputCode =
  | 'voevent.too_large'
  | 'voevent.entity_declared'
  | 'voevent.malformed_xml'
  | 'voevent.not_voevent'
  | 'voevent.missing_field'
  | 'voevent.bad_value';

export class InvalidInput extends Error {
  readonly retriable = false;
  constructor(
    readonly code: InvalidInputCode,
    message: string,
  ) {
    super(message);
    this.name = 'InvalidInput';
  }
}

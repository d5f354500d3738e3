/** Invalid alert input: dead-lettered with this code by the runner, never retried. */
export class InvalidInput extends Error {
  readonly retriable = false;
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'InvalidInput';
  }
}

import { inspect } from 'node:util';

const REDACTED = '[redacted]';

/** Holds a credential so that printing, logging or serialising it shows `[redacted]`. */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  /** Call only where the credential is put on the wire (the auth header) or encrypted at rest. */
  reveal(): string {
    return this.#value;
  }

  /** The last four characters, enough for a person to tell two tokens apart. */
  lastFour(): string {
    return this.#value.length > 8 ? this.#value.slice(-4) : '';
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}

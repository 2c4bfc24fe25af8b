import { AuthError } from '../../core/errors.js';
import type { AuthStore } from '../../store/auth-store.js';

/**
 * Failed logins are counted in the store, per account and per client address, over a sliding window: a
 * restart does not reset them, and several server processes on one database share them.
 */
export interface LoginLimits {
  readonly windowMs: number;
  /** Failures for one account name within the window before that account is refused. */
  readonly perAccount: number;
  /** Failures from one address within the window before that address is refused (covers password spraying). */
  readonly perAddress: number;
}

// Five guesses per quarter hour makes online guessing hopeless while a person who mistypes waits at most 15 min.
export const DEFAULT_LOGIN_LIMITS: LoginLimits = { windowMs: 15 * 60_000, perAccount: 5, perAddress: 20 };

export class LoginLimiter {
  readonly #auth: AuthStore;
  readonly #limits: LoginLimits;

  constructor(auth: AuthStore, limits: LoginLimits = DEFAULT_LOGIN_LIMITS) {
    this.#auth = auth;
    this.#limits = limits;
  }

  /** Throws AUTH_RATE_LIMITED before the password is even checked when either budget is spent. */
  async check(account: string, address: string, nowMs: number): Promise<void> {
    const since = nowMs - this.#limits.windowMs;
    const byAccount = await this.#auth.countLoginFailures(accountSubject(account), since);
    const byAddress = await this.#auth.countLoginFailures(addressSubject(address), since);
    if (byAccount >= this.#limits.perAccount || byAddress >= this.#limits.perAddress) {
      throw new AuthError('AUTH_RATE_LIMITED', {
        message: `Too many failed logins ${byAccount >= this.#limits.perAccount ? 'for this account' : 'from this address'}; try again in ${Math.ceil(this.#limits.windowMs / 60_000)} minutes.`,
        details: { retryAfterSecs: Math.ceil(this.#limits.windowMs / 1000) },
      });
    }
  }

  async failed(account: string, address: string, nowMs: number): Promise<void> {
    await this.#auth.recordLoginFailure(accountSubject(account), nowMs);
    await this.#auth.recordLoginFailure(addressSubject(address), nowMs);
  }

  /** A correct password clears the account's failures; the address keeps its count against spraying. */
  async succeeded(account: string): Promise<void> {
    await this.#auth.clearLoginFailures(accountSubject(account));
  }

  get windowMs(): number {
    return this.#limits.windowMs;
  }
}

function accountSubject(account: string): string {
  return `account:${account.toLowerCase()}`;
}

function addressSubject(address: string): string {
  return `address:${address}`;
}

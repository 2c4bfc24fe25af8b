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

  /**
   * Takes one attempt from both budgets before the password is checked, and throws AUTH_RATE_LIMITED when either
   * was already spent. The attempt is recorded as a failure first and counted after, so attempts that arrive
   * together (from one server or several on one database) cannot all pass a count taken before any of them
   * failed: of any number at once, at most the budget's worth are checked. A refused attempt is then forgotten,
   * so hammering a locked account does not keep it locked.
   */
  async attempt(account: string, address: string, nowMs: number): Promise<void> {
    const since = nowMs - this.#limits.windowMs;
    const byAccountSubject = accountSubject(account);
    const byAddressSubject = addressSubject(address);
    await this.#auth.recordLoginFailure(byAccountSubject, nowMs);
    await this.#auth.recordLoginFailure(byAddressSubject, nowMs);
    const byAccount = await this.#auth.countLoginFailures(byAccountSubject, since);
    const byAddress = await this.#auth.countLoginFailures(byAddressSubject, since);
    if (byAccount > this.#limits.perAccount || byAddress > this.#limits.perAddress) {
      await this.abandoned(account, address, nowMs);
      throw new AuthError('AUTH_RATE_LIMITED', {
        message: `Too many failed logins ${byAccount > this.#limits.perAccount ? 'for this account' : 'from this address'}; try again in ${Math.ceil(this.#limits.windowMs / 60_000)} minutes.`,
        details: { retryAfterSecs: Math.ceil(this.#limits.windowMs / 1000) },
      });
    }
  }

  /** Takes back an attempt that was refused or could not be judged (the store or the hash failed): no guess. */
  async abandoned(account: string, address: string, attemptedAtMs: number): Promise<void> {
    await this.#auth.forgetLoginFailure(accountSubject(account), attemptedAtMs);
    await this.#auth.forgetLoginFailure(addressSubject(address), attemptedAtMs);
  }

  /**
   * A correct password clears the account's failures and takes back the address's share of this attempt; the
   * address keeps its earlier failures against spraying.
   */
  async succeeded(account: string, address: string, attemptedAtMs: number): Promise<void> {
    await this.#auth.clearLoginFailures(accountSubject(account));
    await this.#auth.forgetLoginFailure(addressSubject(address), attemptedAtMs);
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

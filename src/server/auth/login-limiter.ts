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
    const accountRefused = byAccount > this.#limits.perAccount;
    if (accountRefused || byAddress > this.#limits.perAddress) {
      await this.abandoned(account, address, nowMs);
      const waitMs = Math.max(
        accountRefused ? await this.#waitMs(byAccountSubject, this.#limits.perAccount, nowMs) : 0,
        byAddress > this.#limits.perAddress ? await this.#waitMs(byAddressSubject, this.#limits.perAddress, nowMs) : 0,
      );
      const minutes = Math.max(1, Math.ceil(waitMs / 60_000));
      throw new AuthError('AUTH_RATE_LIMITED', {
        message: `Too many failed logins ${accountRefused ? 'for this account' : 'from this address'}; try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`,
        details: { retryAfterSecs: Math.max(1, Math.ceil(waitMs / 1000)) },
      });
    }
  }

  // How long until an attempt on `subject` is judged again: until enough of its failures in the window have aged
  // out of it that one more stays within `limit`.
  async #waitMs(subject: string, limit: number, nowMs: number): Promise<number> {
    const times = await this.#auth.loginFailureTimes(subject, nowMs - this.#limits.windowMs);
    const freeing = times[times.length - limit];
    return freeing === undefined ? 0 : freeing + this.#limits.windowMs - nowMs;
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

import { describe, expect, it } from 'vitest';
import { shellArgument } from './shell-argument.js';

describe('shellArgument', () => {
  it('quotes what a shell would split or read, and puts a word that begins with - behind --', () => {
    expect(shellArgument('Logs')).toBe('Logs');
    expect(shellArgument('Cloudflare Zero Trust Logs')).toBe("'Cloudflare Zero Trust Logs'");
    expect(shellArgument("it's")).toBe(`'it'\\''s'`);
    expect(shellArgument('$HOME `x`')).toBe("'$HOME `x`'");
    expect(shellArgument('--weird')).toBe('-- --weird');
    expect(shellArgument('-outcome:failure AND x')).toBe("-- '-outcome:failure AND x'");
  });
});

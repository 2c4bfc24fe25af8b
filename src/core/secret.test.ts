import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { Secret } from './secret.js';
import { SecretBox } from './secret-box.js';

const TOKEN = 'abcdEFGHijklMNOPqrstUVWXyz0123456789wxyz';

describe('Secret', () => {
  it('never prints its value', () => {
    const secret = new Secret(TOKEN);
    const renderings = [
      String(secret),
      `${secret as unknown as string}`,
      JSON.stringify({ secret }),
      inspect({ secret }),
      inspect(secret),
    ];
    for (const text of renderings) {
      expect(text).not.toContain(TOKEN);
      expect(text).toContain('[redacted]');
    }
    expect(secret.reveal()).toBe(TOKEN);
    expect(secret.lastFour()).toBe('wxyz');
  });
});

describe('SecretBox', () => {
  it('round-trips and never stores the plain text', () => {
    const box = new SecretBox(SecretBox.generateKey());
    const sealed = box.encrypt(new Secret(TOKEN));
    expect(sealed).not.toContain(TOKEN);
    expect(sealed).not.toContain(Buffer.from(TOKEN).toString('base64'));
    expect(box.decrypt(sealed).reveal()).toBe(TOKEN);
  });

  it('refuses a different key with a message that says so', () => {
    const sealed = new SecretBox(SecretBox.generateKey()).encrypt(new Secret(TOKEN));
    const other = new SecretBox(SecretBox.generateKey());
    expect(() => other.decrypt(sealed)).toThrow(/different secret key/);
  });

  it('parses base64 and hex keys and rejects short ones', () => {
    const key = SecretBox.generateKey();
    expect(SecretBox.parseKey(key.toString('base64')).equals(key)).toBe(true);
    expect(SecretBox.parseKey(key.toString('hex')).equals(key)).toBe(true);
    expect(() => SecretBox.parseKey('c2hvcnQ=')).toThrow(/32 bytes/);
  });
});

import { parseSealingKeys, TokenVault } from '../../lib/credentials';

const key = (id: string, fill: number) => `${id}:${Buffer.alloc(32, fill).toString('base64')}`;
const ORDER = '5b0f4c52-1f1a-4a55-9d43-6a1c4f3f7a10';
const TOKEN = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjYXNoaWVyQGV4YW1wbGUuY29tIn0.c2lnbmF0dXJl';

describe('sealing the owner token kept beside an order (AES-256-GCM)', () => {
  it('opens what it sealed, and never stores the token in the clear', () => {
    const vault = new TokenVault(parseSealingKeys(key('k1', 1)));

    const sealed = vault.seal(TOKEN, ORDER);

    expect(sealed).toMatch(/^v1\.k1\.[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(sealed).not.toContain(TOKEN.split('.')[1]);
    expect(vault.open(sealed, ORDER)).toBe(TOKEN);
  });

  it('seals the same token differently each time (a fresh IV)', () => {
    const vault = new TokenVault(parseSealingKeys(key('k1', 1)));
    expect(vault.seal(TOKEN, ORDER)).not.toBe(vault.seal(TOKEN, ORDER));
  });

  it('refuses a sealed token moved to another order, or tampered with', () => {
    const vault = new TokenVault(parseSealingKeys(key('k1', 1)));
    const sealed = vault.seal(TOKEN, ORDER);
    const parts = sealed.split('.');
    const flipped = Buffer.from(parts[3], 'base64url');
    flipped[0] ^= 1;

    expect(() => vault.open(sealed, '00000000-0000-4000-8000-000000000000')).toThrow();
    expect(() => vault.open([...parts.slice(0, 3), flipped.toString('base64url'), parts[4]].join('.'), ORDER)).toThrow();
    expect(() => vault.open('v1.k1.only-three', ORDER)).toThrow('sealed token is malformed');
  });

  it('rotates: a new first key seals, an old listed key still opens, an unlisted one is named', () => {
    const before = new TokenVault(parseSealingKeys(key('old', 1)));
    const sealedBefore = before.seal(TOKEN, ORDER);
    const rotated = new TokenVault(parseSealingKeys(`${key('new', 2)},${key('old', 1)}`));

    expect(rotated.open(sealedBefore, ORDER)).toBe(TOKEN);
    expect(rotated.seal(TOKEN, ORDER)).toMatch(/^v1\.new\./);
    expect(() => new TokenVault(parseSealingKeys(key('new', 2))).open(sealedBefore, ORDER)).toThrow(
      'sealed token uses key "old", which is not configured',
    );
  });

  it.each([
    ['a key of the wrong length', 'k1:dG9vIHNob3J0', /must be 32 bytes/],
    ['a key without an id', Buffer.alloc(32).toString('base64'), /"id:base64"/],
    ['a repeated id', `${key('k1', 1)},${key('k1', 2)}`, /unique/],
  ])('refuses %s', (_what, value, message) => {
    expect(() => parseSealingKeys(value)).toThrow(message);
  });

  it('refuses a shortened GCM tag (Node would otherwise check only its first bytes)', () => {
    const vault = new TokenVault(parseSealingKeys(key('k1', 1)));
    const parts = vault.seal(TOKEN, ORDER).split('.');
    const short = [...parts.slice(0, 4), Buffer.from(parts[4], 'base64url').subarray(0, 4).toString('base64url')].join('.');

    expect(() => vault.open(short, ORDER)).toThrow('malformed');
    expect(vault.tryOpen(short, ORDER)).toBeUndefined();
  });

  it('re-seals under the newest key what an older listed key sealed, and nothing else', () => {
    const old = new TokenVault(parseSealingKeys(key('k1', 1)));
    const rotated = new TokenVault(parseSealingKeys(`${key('k2', 2)},${key('k1', 1)}`));
    const gone = new TokenVault(parseSealingKeys(key('k0', 9)));
    const sealedByOld = old.seal(TOKEN, ORDER);

    const again = rotated.resealed(sealedByOld, ORDER)!;
    expect(TokenVault.keyIdOf(again)).toBe('k2');
    expect(rotated.open(again, ORDER)).toBe(TOKEN);
    expect(rotated.olderKeyIds).toEqual(['k1']);
    expect(rotated.resealed(again, ORDER)).toBeUndefined();
    expect(rotated.resealed(gone.seal(TOKEN, ORDER), ORDER)).toBeUndefined();
    expect(rotated.tryOpen(gone.seal(TOKEN, ORDER), ORDER)).toBeUndefined();
  });
});

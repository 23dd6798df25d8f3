import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/** One AES-256 key and the id stored with everything it seals, so older keys keep opening what they sealed. */
export interface SealingKey {
  id: string;
  key: Buffer;
}

const FORMAT = 'v1';
const IV_BYTES = 12;
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;

/**
 * Parses TOKEN_ENCRYPTION_KEYS: `id:base64key[,id:base64key…]`, each key 32
 * bytes. The first key seals; every listed key opens. To rotate, put a new key
 * first and keep the old one listed until the orders it sealed are at rest.
 */
export function parseSealingKeys(value: string): SealingKey[] {
  const keys = value.split(',').map((entry) => {
    const [id, encoded, ...rest] = entry.trim().split(':');
    if (!id || !encoded || rest.length > 0 || !KEY_ID.test(id)) throw new Error('each key must be "id:base64" with an id of letters, digits, _ or -');
    const key = Buffer.from(encoded, 'base64');
    if (key.length !== 32) throw new Error(`key "${id}" must be 32 bytes (base64 of 32 random bytes, e.g. \`openssl rand -base64 32\`)`);
    return { id, key };
  });
  if (new Set(keys.map((k) => k.id)).size !== keys.length) throw new Error('key ids must be unique');
  return keys;
}

/**
 * Seals the caller's upstream token with AES-256-GCM for storage beside an
 * unsettled order, so background work can act as the order's owner without a
 * shared signing secret. Sealed form: v1.<keyId>.<iv>.<ciphertext>.<tag>
 * (base64url); the order id is bound in as associated data, so a sealed token
 * cannot be moved to another order.
 */
export class TokenVault {
  private readonly byId: Map<string, Buffer>;

  constructor(private readonly keys: readonly SealingKey[]) {
    if (keys.length === 0) throw new Error('TokenVault needs at least one key');
    this.byId = new Map(keys.map((k) => [k.id, k.key]));
  }

  seal(token: string, orderId: string): string {
    const { id, key } = this.keys[0];
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.from(orderId));
    const ciphertext = Buffer.concat([cipher.update(token, 'utf8'), cipher.final()]);
    return [FORMAT, id, iv.toString('base64url'), ciphertext.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
  }

  /** The token, or throws when the sealed value is malformed, tampered with, or sealed by a key no longer listed. */
  open(sealed: string, orderId: string): string {
    const [format, keyId, iv, ciphertext, tag, ...rest] = sealed.split('.');
    if (format !== FORMAT || !keyId || iv === undefined || ciphertext === undefined || tag === undefined || rest.length > 0) {
      throw new Error('sealed token is malformed');
    }
    const key = this.byId.get(keyId);
    if (!key) throw new Error(`sealed token uses key "${keyId}", which is not configured`);
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(orderId));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
  }
}

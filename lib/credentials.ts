import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/** One AES-256 key and the id stored with everything it seals, so older keys keep opening what they sealed. */
export interface SealingKey {
  id: string;
  key: Buffer;
}

const FORMAT = 'v1';
const IV_BYTES = 12;
/** GCM's full tag: a shorter one would be accepted by Node and weaken the check. */
const TAG_BYTES = 16;
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;

/**
 * Parses TOKEN_ENCRYPTION_KEYS: `id:base64key[,id:base64key…]`, each key 32
 * bytes. The first key seals; every listed key opens. To rotate, put a new key
 * first and keep the old one listed until the orders it sealed are at rest.
 */
export function parseSealingKeys(value: string): SealingKey[] {
  const keys = value.split(',').map((entry) => {
    const [id, encoded, ...rest] = entry.trim().split(':');
    if (!id || !encoded || rest.length > 0 || !KEY_ID.test(id))
      throw new Error('each key must be "id:base64" with an id of letters, digits, _ or -');
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
    const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
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
    const authTag = Buffer.from(tag, 'base64url');
    if (authTag.length !== TAG_BYTES) throw new Error('sealed token is malformed');
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'), { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(orderId));
    decipher.setAuthTag(authTag);
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
  }

  /** The token, or undefined when it cannot be opened (malformed, tampered with, or under a key no longer listed): no credentials. */
  tryOpen(sealed: string, orderId: string): string | undefined {
    try {
      return this.open(sealed, orderId);
    } catch {
      return undefined;
    }
  }

  /** The key that seals now; a sealed token under any other is re-sealed when next seen (rotation). */
  get sealingKeyId(): string {
    return this.keys[0].id;
  }

  /** The keys still listed only to open what they sealed. */
  get olderKeyIds(): string[] {
    return this.keys.slice(1).map((k) => k.id);
  }

  /** The key a sealed token was sealed under, as its text says (undefined when malformed). */
  static keyIdOf(sealed: string): string | undefined {
    const [format, keyId] = sealed.split('.');
    return format === FORMAT && keyId ? keyId : undefined;
  }

  /** The token sealed again under the newest key, when it was sealed under an older one that still opens it. */
  resealed(sealed: string, orderId: string): string | undefined {
    if (TokenVault.keyIdOf(sealed) === this.sealingKeyId) return undefined;
    const token = this.tryOpen(sealed, orderId);
    return token === undefined ? undefined : this.seal(token, orderId);
  }
}

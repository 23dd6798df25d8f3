import type { Reply } from '../http/reply';
import { basketView, type Basket } from './basket';

/** A basket reply with its version as ETag, for the next write's If-Match. */
export function basketReply(basket: Basket, status = 200): Reply {
  return { status, body: basketView(basket), headers: { etag: `"${basket.version}"` } };
}

import { AppError } from '../lib/errors';
import { endpoint } from './app';

export const handler = endpoint({ functionName: 'notFound', authenticated: false }, async () => {
  throw new AppError('ROUTE_NOT_FOUND', 'No such route');
});

export * from './repositories';
export * from './upstream';

/**
 * `serverless package` without an AWS account, as the deploy test and the
 * benchmark run it: on a copy of the project, with fake credentials and
 * nothing of this machine's environment but PATH (no DATABASE_URL, no keys).
 */
import { cpSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from './database';

/** The serverless CLI (3.x) of this project. */
export const SERVERLESS_CLI = path.join(PROJECT_ROOT, 'node_modules/serverless/bin/serverless.js');

/** Top-level entries a package run never needs; everything else is copied. */
const NOT_COPIED = new Set(['node_modules', '.git', '.data', '.esbuild', '.serverless', 'coverage']);

/** Copies the project's working tree (without build output and results) to `to`, with node_modules linked. */
export function copyProjectForPackaging(to: string): void {
  cpSync(PROJECT_ROOT, to, {
    recursive: true,
    filter: (source) =>
      !NOT_COPIED.has(path.relative(PROJECT_ROOT, source).split(path.sep)[0]!) && !source.includes(`${path.sep}results${path.sep}`),
  });
  linkNodeModules(to);
}

export function linkNodeModules(to: string): void {
  symlinkSync(path.join(PROJECT_ROOT, 'node_modules'), path.join(to, 'node_modules'), 'dir');
}

/** The environment of a packaging run: PATH, a home of its own, fake AWS credentials, no telemetry. */
export function packagingEnv(home: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '',
    HOME: home,
    AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    AWS_REGION: 'eu-west-1',
    SLS_TELEMETRY_DISABLED: '1',
    SLS_NOTIFICATIONS_MODE: 'off',
    SLS_DEPRECATION_DISABLE: '*',
  };
}

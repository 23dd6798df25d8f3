import { parseArgs } from 'node:util';

/** One numeric command-line flag, with an environment variable as fallback. */
export interface NumberFlag {
  help: string;
  default: number;
  /** A switch: `--name` alone means 1 (env: 1/true/yes). */
  boolean?: boolean;
  env?: string;
  min?: number;
  max?: number;
  integer?: boolean;
}

/** One flag whose value is one of a few names. */
export interface ChoiceFlag {
  help: string;
  choices: readonly string[];
  default: string;
  env?: string;
}

/** A comma-separated list of names (`--flows one-shot,floor`), each one of `items`; order kept, duplicates dropped. */
export interface ListFlag {
  help: string;
  items: readonly string[];
  default: string;
  env?: string;
}

/** A comma-separated list of numbers (`--db-delay-ms 0,10`), each within min–max; sorted, duplicates dropped. */
export interface NumberListFlag {
  help: string;
  numbers: { min: number; max: number; integer?: boolean };
  default: string;
  env?: string;
}

type AnyFlag = NumberFlag | ChoiceFlag | ListFlag | NumberListFlag;

export type FlagSpecs = Record<string, AnyFlag>;

type FlagValues<S extends FlagSpecs> = {
  [K in keyof S]: S[K] extends ListFlag ? string[] : S[K] extends NumberListFlag ? number[] : S[K] extends ChoiceFlag ? string : number;
};

const isChoice = (spec: AnyFlag): spec is ChoiceFlag => 'choices' in spec;
const isList = (spec: AnyFlag): spec is ListFlag => 'items' in spec;
const isNumberList = (spec: AnyFlag): spec is NumberListFlag => 'numbers' in spec;

/**
 * Reads `--name value` flags (flag > environment variable > default). Unknown
 * flags and out-of-range values stop the script with a message naming the flag;
 * `--help` prints every flag and exits.
 */
export function readFlags<S extends FlagSpecs>(command: string, specs: S, argv = process.argv.slice(2), env = process.env): FlagValues<S> {
  const options = Object.fromEntries(
    Object.entries(specs).map(([name, spec]) => [
      name,
      { type: !isChoice(spec) && !isList(spec) && !isNumberList(spec) && spec.boolean ? ('boolean' as const) : ('string' as const) },
    ]),
  );
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean' } }, strict: true, allowPositionals: false }).values;
  } catch (error) {
    fail(command, (error as Error).message, specs);
  }
  if (values.help) {
    console.log(usage(command, specs));
    process.exit(0);
  }
  const result: Record<string, number | number[] | string | string[]> = {};
  for (const [name, spec] of Object.entries(specs)) {
    if (isNumberList(spec)) {
      const raw = (values[name] as string | undefined) ?? (spec.env ? env[spec.env] : undefined) ?? spec.default;
      const items = raw
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item !== '');
      const numbers = items.map(Number);
      const { min, max, integer } = spec.numbers;
      if (
        numbers.length === 0 ||
        numbers.some((value) => !Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value)))
      )
        fail(command, `--${name} must list ${integer ? 'whole ' : ''}numbers from ${min} to ${max} (comma-separated), got "${raw}"`, specs);
      result[name] = [...new Set(numbers)].sort((a, b) => a - b);
      continue;
    }
    if (isList(spec)) {
      const raw = (values[name] as string | undefined) ?? (spec.env ? env[spec.env] : undefined) ?? spec.default;
      const items = [
        ...new Set(
          raw
            .split(',')
            .map((item) => item.trim())
            .filter((item) => item !== ''),
        ),
      ];
      const unknown = items.filter((item) => !spec.items.includes(item));
      if (items.length === 0 || unknown.length > 0)
        fail(command, `--${name} must list some of ${spec.items.join(', ')} (comma-separated), got "${raw}"`, specs);
      result[name] = items;
      continue;
    }
    if (isChoice(spec)) {
      const raw = (values[name] as string | undefined) ?? (spec.env ? env[spec.env] : undefined) ?? spec.default;
      if (!spec.choices.includes(raw)) fail(command, `--${name} must be one of ${spec.choices.join(', ')}, got "${raw}"`, specs);
      result[name] = raw;
      continue;
    }
    if (spec.boolean) {
      const fromEnv = spec.env ? env[spec.env] : undefined;
      result[name] =
        values[name] === true || (values[name] === undefined && fromEnv !== undefined && /^(1|true|yes)$/i.test(fromEnv))
          ? 1
          : values[name] === undefined && fromEnv === undefined
            ? spec.default
            : 0;
      continue;
    }
    const raw = (values[name] as string | undefined) ?? (spec.env ? env[spec.env] : undefined);
    if (raw === undefined || raw === '') {
      result[name] = spec.default;
      continue;
    }
    const value = Number(raw);
    const source = values[name] !== undefined ? `--${name}` : spec.env;
    if (!Number.isFinite(value)) fail(command, `${source} must be a number, got "${raw}"`, specs);
    if (spec.integer && !Number.isInteger(value)) fail(command, `${source} must be an integer, got "${raw}"`, specs);
    if (spec.min !== undefined && value < spec.min) fail(command, `${source} must be >= ${spec.min}, got ${value}`, specs);
    if (spec.max !== undefined && value > spec.max) fail(command, `${source} must be <= ${spec.max}, got ${value}`, specs);
    result[name] = value;
  }
  return result as FlagValues<S>;
}

function usage(command: string, specs: FlagSpecs): string {
  const describeDefault = (spec: AnyFlag) =>
    isList(spec)
      ? `comma-separated, of ${spec.items.join(', ')}; default ${spec.default}`
      : isNumberList(spec)
        ? `comma-separated numbers, ${spec.numbers.min}–${spec.numbers.max}; default ${spec.default}`
        : isChoice(spec)
          ? `one of ${spec.choices.join(', ')}; default ${spec.default}`
          : spec.boolean
            ? spec.default
              ? 'on'
              : 'off'
            : `default ${spec.default}`;
  const rows = Object.entries(specs).map(
    ([name, spec]) => `  --${name.padEnd(22)} ${spec.help} (${describeDefault(spec)}${spec.env ? `; env ${spec.env}` : ''})`,
  );
  return `usage: npm run ${command} [-- --flag value ...]\n${rows.join('\n')}`;
}

function fail(command: string, message: string, specs: FlagSpecs): never {
  console.error(`${command}: ${message}\n${usage(command, specs)}`);
  process.exit(2);
}

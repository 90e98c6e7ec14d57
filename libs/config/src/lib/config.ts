// Typed, validated configuration from environment variables. A service
// declares one schema; loadConfig builds one frozen object or throws a
// ConfigError naming the first bad variable, and exitOnConfigError turns that
// into one line on stderr and exit code 2.

/** A bad or missing variable; the message is the one line a user sees. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable}: ${problem}`);
    this.name = 'ConfigError';
  }
}

/** How one variable is read: its name and a parser from the raw string. */
export interface Setting<T> {
  readonly variable: string;
  readonly parse: (raw: string | undefined) => T;
}

type Parser<T> = (raw: string, fail: (problem: string) => never) => T;

function setting<T>(variable: string, parseValue: Parser<T>, fallback?: T): Setting<T> {
  const fail = (problem: string): never => {
    throw new ConfigError(variable, problem);
  };
  return {
    variable,
    parse(raw) {
      if (raw === undefined || raw.trim() === '') {
        if (fallback === undefined) fail('is required but not set');
        return fallback as T;
      }
      return parseValue(raw.trim(), fail);
    },
  };
}

export interface IntOptions {
  min: number;
  max: number;
  default?: number;
}

/** An integer in [min, max]. */
export function int(variable: string, options: IntOptions): Setting<number> {
  return setting(
    variable,
    (raw, fail) => {
      if (!/^-?\d+$/.test(raw)) fail(`must be an integer, got "${raw}"`);
      const value = Number(raw);
      if (!Number.isSafeInteger(value) || value < options.min || value > options.max) {
        fail(`must be between ${options.min} and ${options.max}, got ${raw}`);
      }
      return value;
    },
    options.default,
  );
}

export interface StringOptions {
  default?: string;
  /** A pattern the whole value must match, with a human description. */
  pattern?: { regex: RegExp; description: string };
  maxLength?: number;
}

/** A string, optionally matching a pattern. */
export function string(variable: string, options: StringOptions = {}): Setting<string> {
  return setting(
    variable,
    (raw, fail) => {
      if (options.maxLength !== undefined && raw.length > options.maxLength) {
        fail(`must be at most ${options.maxLength} characters, got ${raw.length}`);
      }
      if (options.pattern && !options.pattern.regex.test(raw))
        fail(`must be ${options.pattern.description}, got "${raw}"`);
      return raw;
    },
    options.default,
  );
}

/** One of a fixed set of words. */
export function oneOf<T extends string>(variable: string, values: readonly T[], fallback?: T): Setting<T> {
  return setting(
    variable,
    (raw, fail) => {
      if (!(values as readonly string[]).includes(raw)) fail(`must be one of ${values.join(', ')}, got "${raw}"`);
      return raw as T;
    },
    fallback,
  );
}

/** A host and port, as "host:port" or "[v6]:port". */
export interface HostPort {
  host: string;
  port: number;
}

/** `portMin` 0 for an address to listen on, where port 0 asks for any free port. */
export function parseHostPort(raw: string, portMin: 0 | 1 = 1): HostPort | string {
  const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(raw);
  if (!match) return `must be host:port, got "${raw}"`;
  const port = Number(match[2]);
  if (port < portMin || port > 65535) return `port must be between ${portMin} and 65535, got ${match[2]}`;
  return { host: match[1] as string, port };
}

export function formatHostPort(address: HostPort): string {
  return `${address.host}:${address.port}`;
}

export function hostPort(variable: string, fallback?: string): Setting<HostPort> {
  const parseValue: Parser<HostPort> = (raw, fail) => {
    const parsed = parseHostPort(raw);
    return typeof parsed === 'string' ? fail(parsed) : parsed;
  };
  return setting(variable, parseValue, fallback === undefined ? undefined : (parseHostPort(fallback) as HostPort));
}

/**
 * Where an optional server listens: "host:port" (port 0 picks a free port)
 * or "off". Unset it is undefined, and the service derives the address.
 */
export function listenAddressOrOff(variable: string): Setting<HostPort | 'off' | undefined> {
  const parseValue: Parser<HostPort | 'off'> = (raw, fail) => {
    if (raw === 'off') return 'off';
    const parsed = parseHostPort(raw, 0);
    if (typeof parsed !== 'string') return parsed;
    return fail(parsed.startsWith('must be host:port') ? `must be host:port or off, got "${raw}"` : parsed);
  };
  const required = setting(variable, parseValue);
  return { variable, parse: (raw) => (raw === undefined || raw.trim() === '' ? undefined : required.parse(raw)) };
}

/** A peer list "id=host:port,id=host:port" with unique ids. */
export interface Peer {
  id: string;
  address: HostPort;
}

export const memberIdPattern = { regex: /^[a-z0-9][a-z0-9-]{0,63}$/, description: '1-64 characters of a-z, 0-9 and -' };

export function peers(variable: string, options: { min: number; max: number }): Setting<Peer[]> {
  return setting(variable, (raw, fail) => {
    const items = raw.split(',').map((item) => item.trim());
    if (items.length < options.min || items.length > options.max) {
      fail(`must list ${options.min} to ${options.max} peers as id=host:port, got ${items.length}`);
    }
    const seen = new Set<string>();
    return items.map((item) => {
      const [id, address, extra] = item.split('=');
      if (!id || !address || extra !== undefined) fail(`each peer must be id=host:port, got "${item}"`);
      if (!memberIdPattern.regex.test(id as string))
        fail(`peer id must be ${memberIdPattern.description}, got "${id}"`);
      if (seen.has(id as string)) fail(`peer id "${id}" appears twice`);
      seen.add(id as string);
      const parsed = parseHostPort(address as string);
      if (typeof parsed === 'string') fail(`peer ${id}: ${parsed}`);
      return { id: id as string, address: parsed as HostPort };
    });
  });
}

/** A comma-separated list of distinct member ids; `fallback` when unset. */
export function memberIdList(
  variable: string,
  options: { min: number; max: number; fallback?: string[] },
): Setting<string[]> {
  return setting(
    variable,
    (raw, fail) => {
      const items = raw.split(',').map((item) => item.trim());
      if (items.length < options.min || items.length > options.max) {
        fail(`must list ${options.min} to ${options.max} member ids, got ${items.length}`);
      }
      const seen = new Set<string>();
      for (const id of items) {
        if (!memberIdPattern.regex.test(id)) fail(`member id must be ${memberIdPattern.description}, got "${id}"`);
        if (seen.has(id)) fail(`member id "${id}" appears twice`);
        seen.add(id);
      }
      return items;
    },
    options.fallback,
  );
}

/** A comma-separated list of host:port addresses. */
export function hostPortList(
  variable: string,
  options: { min: number; max: number; default?: HostPort[] },
): Setting<HostPort[]> {
  return setting(
    variable,
    (raw, fail) => {
      const items = raw.split(',').map((item) => item.trim());
      if (items.length < options.min || items.length > options.max) {
        fail(`must list ${options.min} to ${options.max} addresses, got ${items.length}`);
      }
      return items.map((item) => {
        const parsed = parseHostPort(item);
        return typeof parsed === 'string' ? fail(parsed) : parsed;
      });
    },
    options.default,
  );
}

export type Schema = Record<string, Setting<unknown>>;
export type ConfigOf<S extends Schema> = { readonly [K in keyof S]: S[K] extends Setting<infer T> ? T : never };

/** Reads every setting of the schema; throws ConfigError on the first bad one. */
export function loadConfig<S extends Schema>(schema: S, env: NodeJS.ProcessEnv = process.env): ConfigOf<S> {
  const config: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(schema)) config[key] = item.parse(env[item.variable]);
  return Object.freeze(config) as ConfigOf<S>;
}

/**
 * loadConfig for a service's main: a bad variable prints one line naming it
 * and exits with code 2.
 */
export function loadConfigOrExit<S extends Schema>(
  service: string,
  schema: S,
  env: NodeJS.ProcessEnv = process.env,
): ConfigOf<S> {
  try {
    return loadConfig(schema, env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${service}: invalid configuration: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
}

import { InvalidArgumentError } from '@bulwark/errors';
import { uint64Max } from './records';

// Reads the fields of a parsed JSON object, checking each at run time and
// naming the first bad one by its dotted path ("op.fence.token",
// "targets[1].member") after `where` ("line 12").

const shownCharsMax = 60;

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > shownCharsMax ? `${text.slice(0, shownCharsMax)}...` : text;
}

const uint64Text = /^(0|[1-9][0-9]*)$/;

export class FieldReader {
  private readonly read = new Set<string>();

  private constructor(
    private readonly fields: Readonly<Record<string, unknown>>,
    private readonly where: string,
    private readonly path: string,
  ) {}

  /** A reader of `value`, which must be a JSON object; `path` '' for a whole line. */
  static of(value: unknown, where: string, path = ''): FieldReader {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      const subject = path === '' ? where : `${where} field "${path}"`;
      throw new InvalidArgumentError(subject, `must be a JSON object, got ${describe(value)}`);
    }
    return new FieldReader(value as Record<string, unknown>, where, path);
  }

  /** Throws naming the field. */
  fail(name: string, problem: string): never {
    throw new InvalidArgumentError(`${this.where} field "${this.pathOf(name)}"`, problem);
  }

  has(name: string): boolean {
    return Object.hasOwn(this.fields, name);
  }

  string(name: string): string {
    const value = this.take(name);
    return typeof value === 'string' ? value : this.fail(name, `must be a string, got ${describe(value)}`);
  }

  /** A string with at least one character: names, ids, keys. */
  name(name: string): string {
    const value = this.string(name);
    return value === '' ? this.fail(name, 'must not be empty') : value;
  }

  nullableString(name: string): string | null {
    const value = this.take(name);
    if (value === null || typeof value === 'string') return value;
    return this.fail(name, `must be a string or null, got ${describe(value)}`);
  }

  boolean(name: string): boolean {
    const value = this.take(name);
    return typeof value === 'boolean' ? value : this.fail(name, `must be true or false, got ${describe(value)}`);
  }

  finiteNumber(name: string): number {
    const value = this.take(name);
    if (typeof value === 'number' && Number.isFinite(value)) return value;
    return this.fail(name, `must be a finite number, got ${describe(value)}`);
  }

  /** A safe integer of at least `min`. */
  integer(name: string, min: number): number {
    const value = this.take(name);
    if (typeof value === 'number' && Number.isSafeInteger(value) && value >= min) return value;
    return this.fail(name, `must be an integer from ${min} to ${Number.MAX_SAFE_INTEGER}, got ${describe(value)}`);
  }

  oneOf<T extends string>(name: string, allowed: readonly T[]): T {
    const value = this.take(name);
    if (allowed.includes(value as T)) return value as T;
    return this.fail(name, `must be one of ${allowed.join(', ')}, got ${describe(value)}`);
  }

  /** A uint64 written as a decimal string (JSON numbers are doubles: 2^53 + 1 would be read as 2^53). */
  uint64(name: string): bigint {
    const value = this.take(name);
    if (typeof value === 'string' && uint64Text.test(value) && BigInt(value) <= uint64Max) return BigInt(value);
    return this.fail(name, `must be a decimal string from "0" to "${uint64Max}", got ${describe(value)}`);
  }

  optionalUint64(name: string): bigint | undefined {
    return this.has(name) ? this.uint64(name) : undefined;
  }

  object(name: string): FieldReader {
    return FieldReader.of(this.take(name), this.where, this.pathOf(name));
  }

  optionalObject(name: string): FieldReader | undefined {
    return this.has(name) ? this.object(name) : undefined;
  }

  /** An array of JSON objects, each read by its own reader. */
  objects(name: string): FieldReader[] {
    const value = this.take(name);
    if (!Array.isArray(value)) return this.fail(name, `must be an array, got ${describe(value)}`);
    return value.map((item, index) => FieldReader.of(item, this.where, `${this.pathOf(name)}[${index}]`));
  }

  /** A JSON object used as a map from strings to a string or null. */
  nullableStringMap(name: string): Map<string, string | null> {
    const entries = Object.entries(this.object(name).fields);
    for (const [key, value] of entries) {
      if (value !== null && typeof value !== 'string') {
        this.fail(`${name}.${key}`, `must be a string or null, got ${describe(value)}`);
      }
    }
    return new Map(entries as [string, string | null][]);
  }

  /** Throws naming the first field that no read asked for: a typo must not silently mean "absent". */
  finish(): void {
    for (const name of Object.keys(this.fields)) {
      if (!this.read.has(name)) this.fail(name, 'is not a field here');
    }
  }

  private take(name: string): unknown {
    this.read.add(name);
    if (!this.has(name)) return this.fail(name, 'is missing');
    return this.fields[name];
  }

  private pathOf(name: string): string {
    return this.path === '' ? name : `${this.path}.${name}`;
  }
}

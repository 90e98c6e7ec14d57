// How results are printed: tables for people (padded columns, no borders
// or colours, as kubectl prints them) and JSON for scripts, with 64-bit
// numbers as decimal strings (as proto3's JSON mapping writes them: a JS
// number would lose digits) and values as text when they are UTF-8, always
// also as base64.
import Table from 'cli-table3';
import type { KeyValue, ResponseHeader } from '@bulwark/kv-client';

const noBorders = {
  top: '',
  'top-mid': '',
  'top-left': '',
  'top-right': '',
  bottom: '',
  'bottom-mid': '',
  'bottom-left': '',
  'bottom-right': '',
  left: '',
  'left-mid': '',
  mid: '',
  'mid-mid': '',
  right: '',
  'right-mid': '',
  middle: '  ',
};

/** Rows under a header, columns padded to their widest cell; an empty cell is shown as "-". */
export function formatTable(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const table = new Table({
    head: [...head],
    chars: noBorders,
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 },
  });
  for (const row of rows) table.push(row.map((cell) => (cell === '' ? '-' : cell)));
  return `${table
    .toString()
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n')}\n`;
}

/** Label and value pairs, one per line, the values aligned. */
export function formatFields(fields: readonly (readonly [string, string])[]): string {
  const width = Math.max(...fields.map(([label]) => label.length));
  return fields.map(([label, value]) => `${label.padEnd(width)}  ${value === '' ? '-' : value}\n`).join('');
}

/** JSON text, indented, bigints as decimal strings. */
export function jsonText(value: unknown, indent = 2): string {
  return `${JSON.stringify(value, (_, field: unknown) => (typeof field === 'bigint' ? field.toString() : field), indent)}\n`;
}

/** One JSON value per line (watch streams). */
export function jsonLine(value: unknown): string {
  return jsonText(value, 0);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A value for JSON: `value` as text when it is valid UTF-8, `valueBase64` always. */
export function valueJson(value: Buffer): { value?: string; valueBase64: string } {
  try {
    return { value: utf8.decode(value), valueBase64: value.toString('base64') };
  } catch {
    return { valueBase64: value.toString('base64') };
  }
}

export function keyValueJson(kv: KeyValue): Record<string, unknown> {
  return { key: kv.key, ...valueJson(kv.value), version: kv.version, modSequence: kv.modSequence };
}

/** The header fields a script may want: who answered, its group, epoch, sequence and revision. */
export function headerJson(header: ResponseHeader): Record<string, unknown> {
  return {
    memberId: header.memberId,
    ...(header.groupId ? { groupId: header.groupId } : {}),
    epoch: header.epoch,
    sequence: header.sequence,
    revision: header.revision,
  };
}

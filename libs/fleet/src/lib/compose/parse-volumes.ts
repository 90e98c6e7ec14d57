import type { FieldFailure } from './compose-error';
import type { VolumeMount } from './compose-model';

/** Docker's rule for volume names; it also keeps them safe as directory names. */
export const volumeNamePattern = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/**
 * `volumes` in the short syntax `source:target[:mode]`. A source starting with
 * `.` or `/` is a host path (bind mount), anything else a named volume, which
 * must be declared at the top level as compose requires. The mode (ro, rw, z)
 * is accepted and not enforced: a local process sees the directory as is.
 */
export function parseVolumes(raw: unknown, declared: ReadonlySet<string>, fail: FieldFailure): VolumeMount[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) return fail('volumes', 'must be a list');
  const targets = new Set<string>();
  return raw.map((item, index): VolumeMount => {
    const field = `volumes[${index}]`;
    if (typeof item !== 'string') return fail(field, 'only the short syntax "source:target[:mode]" is supported');
    const [source = '', rawTarget, _mode, ...extra] = item.split(':');
    if (rawTarget === undefined) {
      fail(field, `anonymous volumes are not supported: name it, as in "name:${source}", got "${item}"`);
    }
    if (extra.length > 0) fail(field, `expected "source:target[:mode]", got "${item}"`);
    const target = (rawTarget as string).replace(/(.)\/+$/, '$1');
    if (!target.startsWith('/') || target === '/')
      fail(field, `target must be an absolute path below /, got "${item}"`);
    if (targets.has(target)) fail(field, `${target} is mounted twice`);
    targets.add(target);
    if (source.startsWith('.') || source.startsWith('/')) return { kind: 'bind', hostPath: source, target };
    if (!volumeNamePattern.test(source)) fail(field, `"${source}" is neither a host path (./ or /) nor a volume name`);
    if (!declared.has(source)) fail(field, `named volume "${source}" is not declared under the top-level volumes`);
    return { kind: 'named', volume: source, target };
  });
}

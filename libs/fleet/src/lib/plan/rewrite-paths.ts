// Rewrites container paths of mounted volumes (`/data`, `/data/wal`) to the
// host directories that stand in for them. A path counts where it starts a
// value or follows a separator (`--dir=/data`, `a:/data`), and only up to a
// path boundary, so `/database` and `/x/data` are left alone.

export interface PathMount {
  containerPath: string;
  hostPath: string;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function rewritePaths(value: string, mounts: readonly PathMount[]): string {
  if (mounts.length === 0) return value;
  const hostPathByContainerPath = new Map(mounts.map((mount) => [mount.containerPath, mount.hostPath]));
  // Longest first, so a mount at /data/logs wins over one at /data.
  const alternatives = [...hostPathByContainerPath.keys()].sort((a, b) => b.length - a.length).map(escapeRegExp);
  const pattern = new RegExp(`(^|[=:,;\\s])(${alternatives.join('|')})(?=$|[/=:,;\\s])`, 'g');
  return value.replace(
    pattern,
    (_match, lead: string, containerPath: string) => lead + (hostPathByContainerPath.get(containerPath) as string),
  );
}

// The Nx project graph: the five services and the bulwark CLI are apps that
// depend on libs only, nothing depends on an app, and every app has a build
// target.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoPath, repoRoot, serviceApps } from '@bulwark/testing';

interface Graph {
  nodes: Record<string, { type: string; data: { targets?: Record<string, unknown> } }>;
  dependencies: Record<string, Array<{ target: string }>>;
}

describe('project graph', () => {
  let graph: Graph;

  beforeAll(() => {
    const scratch = mkdtempSync(join(tmpdir(), 'bulwark-graph-'));
    try {
      const file = join(scratch, 'graph.json');
      execFileSync(repoPath('node_modules/.bin/nx'), ['graph', `--file=${file}`], {
        cwd: repoRoot,
        env: { ...process.env, NX_DAEMON: 'false' },
        stdio: 'ignore',
      });
      graph = (JSON.parse(readFileSync(file, 'utf8')) as { graph: Graph }).graph;
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  it('has the five services and the CLI as apps, each with a build target', () => {
    const apps = Object.entries(graph.nodes)
      .filter(([, node]) => node.type === 'app')
      .map(([name]) => name)
      .sort();
    expect(apps).toEqual([...serviceApps, 'bulwark-cli'].sort());
    for (const app of apps) expect(Object.keys(graph.nodes[app]?.data.targets ?? {})).toContain('build');
  });

  it('lets apps depend on libs only, and nothing depend on an app', () => {
    for (const [source, dependencies] of Object.entries(graph.dependencies)) {
      for (const { target } of dependencies) {
        if (!graph.nodes[target]) continue; // npm packages
        expect(`${source} -> ${target}: ${graph.nodes[target]?.type}`).toBe(`${source} -> ${target}: lib`);
      }
    }
    for (const app of serviceApps) expect(graph.dependencies[app]?.map((edge) => edge.target)).toContain('rpc');
  });
});

// Preloaded (node --require) into each fleet service when a benchmark runs
// with BULWARK_BENCH_PROFILE_DIR: a V8 CPU profile of the whole process,
// written to that directory when it exits, as node --cpu-prof would (which
// NODE_OPTIONS does not allow). The in-thread inspector session answers
// synchronously, so the profile is written even from the 'exit' handler.
const { Session } = require('node:inspector');
const { mkdirSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const dir = process.env.BULWARK_CPU_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.start');
  process.on('exit', () => {
    session.post('Profiler.stop', (error, result) => {
      if (error || !result) return;
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}

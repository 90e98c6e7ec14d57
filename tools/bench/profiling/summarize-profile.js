// Where a service's main thread spent its time, from a V8 CPU profile
// (BULWARK_BENCH_PROFILE_DIR writes them): the share of busy time by origin
// (grpc-js, Node's http2, protobuf, Bulwark's code, GC, ...) and the
// functions with the most self time. Samples before --from seconds (start-up
// and loading) are left out.
//
//   node tools/bench/profiling/summarize-profile.js FILE.cpuprofile [--from S] [--top N]
const { readFileSync } = require('node:fs');

function parseArguments(argv) {
  const options = { file: undefined, fromS: 0, top: 25 };
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index];
    if (argument === '--from') options.fromS = Number(argv[++index]);
    else if (argument === '--top') options.top = Number(argv[++index]);
    else options.file = argument;
  }
  if (!options.file || !Number.isFinite(options.fromS) || !Number.isInteger(options.top) || options.top < 1) {
    process.stderr.write('usage: summarize-profile.js FILE.cpuprofile [--from SECONDS] [--top N]\n');
    process.exit(2);
  }
  return options;
}

/** The origin a frame's time is counted under. */
function originOf(callFrame) {
  const { url, functionName } = callFrame;
  if (functionName === '(garbage collector)') return 'GC';
  if (functionName === '(program)') return 'native (V8 and syscalls outside JS)';
  if (url.includes('@grpc/grpc-js')) return 'grpc-js';
  if (url.includes('@bufbuild/protobuf')) return 'protobuf';
  if (url.includes('prom-client')) return 'prom-client';
  if (url.includes('@opentelemetry')) return 'OpenTelemetry';
  if (url.startsWith('node:internal/http2')) return 'Node http2';
  if (url.startsWith('node:')) return 'Node other';
  if (url.includes('node_modules/')) return `npm ${url.split('node_modules/').pop().split('/')[0]}`;
  if (url === '') return 'native (V8 and syscalls outside JS)';
  return 'Bulwark';
}

// Piped into head: stop quietly when the reader goes.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

/** The V8 CPU profile in `file`, or exit 2 with one line saying why it is not one. */
function readProfile(file) {
  let profile;
  try {
    profile = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    process.stderr.write(`summarize-profile: cannot read ${file}: ${error.message}\n`);
    process.exit(2);
  }
  const fields = ['nodes', 'samples', 'timeDeltas'];
  if (typeof profile !== 'object' || profile === null || !fields.every((field) => Array.isArray(profile[field]))) {
    process.stderr.write(`summarize-profile: ${file} is not a V8 CPU profile (no ${fields.join(', ')})\n`);
    process.exit(2);
  }
  return profile;
}

const { file, fromS, top } = parseArguments(process.argv.slice(2));
const profile = readProfile(file);
const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
const byOrigin = new Map();
const byFunction = new Map();
let busyUs = 0;
let windowUs = 0;
let atUs = profile.startTime;
for (let index = 0; index < profile.samples.length; index++) {
  atUs += profile.timeDeltas[index];
  // A sample stands for the time until the next one.
  const spanUs = profile.timeDeltas[index + 1] ?? 0;
  if (atUs - profile.startTime < fromS * 1e6) continue;
  windowUs += spanUs;
  const { callFrame } = nodes.get(profile.samples[index]);
  if (callFrame.functionName === '(idle)') continue;
  busyUs += spanUs;
  const origin = originOf(callFrame);
  byOrigin.set(origin, (byOrigin.get(origin) ?? 0) + spanUs);
  const where = callFrame.url ? ` ${callFrame.url.split('node_modules/').pop()}:${callFrame.lineNumber + 1}` : '';
  const name = `${callFrame.functionName || '(anonymous)'}${where}`;
  byFunction.set(name, (byFunction.get(name) ?? 0) + spanUs);
}

const share = (us) => `${((100 * us) / busyUs).toFixed(1)}%`;
const descending = (map) => [...map].sort((a, b) => b[1] - a[1]);
process.stdout.write(
  `${file}: ${(windowUs / 1e6).toFixed(1)} s from ${fromS} s on, main thread busy ${(busyUs / 1e3).toFixed(0)} ms ` +
    `(${((100 * busyUs) / windowUs).toFixed(1)}%)\n\nBy origin:\n`,
);
for (const [origin, us] of descending(byOrigin)) process.stdout.write(`  ${share(us).padStart(6)}  ${origin}\n`);
process.stdout.write(`\nTop ${top} functions by self time:\n`);
for (const [name, us] of descending(byFunction).slice(0, top)) {
  process.stdout.write(`  ${share(us).padStart(6)}  ${name}\n`);
}

// Prints the golden vectors of the hash ring: a fixed ring and the group of
// each of a fixed set of keys. Run once, when the ring's placement rule is
// meant to change (never to make a failing golden test pass by accident):
//
//   npx esbuild libs/partitioning/scripts/print-hash-ring-golden.ts --bundle --platform=node \
//     --packages=external --tsconfig=tsconfig.base.json --log-level=warning | node \
//     > libs/partitioning/src/lib/testdata/hash-ring-golden.json
//
// hash-ring-golden.spec.ts then checks that the library reproduces them, so a
// router and a coordinator built from different commits (or a client in
// another language) agree on where every key lives.
import { HashRing } from '../src/index';

const ring = {
  version: '7',
  virtualNodesPerWeight: 4096,
  groups: [
    { id: 'alpha', weight: 1 },
    { id: 'beta', weight: 2 },
    { id: 'gamma', weight: 3 },
    { id: 'δέλτα', weight: 1 },
  ],
};

const keys = [
  ...Array.from({ length: 200 }, (_, index) => `key-${index}`),
  '',
  'a',
  'é',
  'user:42/profile',
  'naïve/ключ/鍵',
  '🙂 emoji outside the BMP',
  'x'.repeat(1024),
];

const hashRing = new HashRing(
  { version: BigInt(ring.version), groups: ring.groups },
  { virtualNodesPerWeight: ring.virtualNodesPerWeight },
);
const vectors = keys.map((key) => ({ key, groupId: hashRing.lookup(key) }));
console.log(JSON.stringify({ ring, vectors }, null, 2));

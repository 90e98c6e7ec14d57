import golden from './testdata/hash-ring-golden.json';
import { HashRing } from './hash-ring';

// The fixture was printed once by scripts/print-hash-ring-golden.ts. If this
// test fails, the ring no longer puts keys where earlier builds (and clients in
// other languages) put them: routers of two versions would disagree during a
// rolling upgrade. Change the fixture only with a deliberate placement change.
describe('HashRing golden vectors', () => {
  it(`reproduces the group of all ${golden.vectors.length} committed keys`, () => {
    const ring = new HashRing(
      { version: BigInt(golden.ring.version), groups: golden.ring.groups },
      { virtualNodesPerWeight: golden.ring.virtualNodesPerWeight },
    );
    expect(golden.vectors.length).toBeGreaterThan(200);
    const actual = golden.vectors.map(({ key }) => ({ key, groupId: ring.lookup(key) }));
    expect(actual).toEqual(golden.vectors);
  });

  it('covers every group of the fixed ring', () => {
    const owners = new Set(golden.vectors.map((vector) => vector.groupId));
    expect([...owners].sort()).toEqual(golden.ring.groups.map((group) => group.id).sort());
  });
});

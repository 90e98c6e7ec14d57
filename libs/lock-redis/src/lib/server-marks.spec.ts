import { planMarks, type ServerMarkView } from './server-marks';

function view(id: string, state: Partial<Omit<ServerMarkView, 'id'>> = {}): ServerMarkView {
  return { id, checked: true, marked: false, suspect: false, everMarked: false, ...state };
}

const marked = { marked: true, everMarked: true };
const down = { checked: false };

describe('planMarks', () => {
  it('does nothing while every server that answers has its mark', () => {
    expect(planMarks([view('a', marked), view('b', marked), view('c', down)])).toEqual({ kind: 'none' });
  });

  it('restores a server without its mark from every marked server that answers, once they are a majority', () => {
    expect(planMarks([view('a'), view('b', marked), view('c', marked)])).toEqual({
      kind: 'restore',
      targets: ['a'],
      sources: ['b', 'c'],
    });
    expect(planMarks([view('a'), view('b'), view('c', marked), view('d', marked), view('e', marked)])).toEqual({
      kind: 'restore',
      targets: ['a', 'b'],
      sources: ['c', 'd', 'e'],
    });
  });

  it('waits for a majority of marked servers rather than restore from fewer', () => {
    const plan = planMarks([view('a', { everMarked: true }), view('b', marked), view('c', down)]);
    expect(plan).toMatchObject({ kind: 'wait', targets: ['a'], lost: false });
    expect(plan.kind === 'wait' && plan.reason).toMatch(/only 1 of 3 servers answer with their mark/);
  });

  it('starts a new cluster only when every server answers and none has or had a mark', () => {
    expect(planMarks([view('a'), view('b'), view('c')])).toEqual({ kind: 'new-cluster', servers: ['a', 'b', 'c'] });
    // c may be a marked server that is away while a and b lost their data.
    expect(planMarks([view('a'), view('b'), view('c', down)])).toMatchObject({ kind: 'wait', lost: false });
    // a lost its mark, b and c are away: a is not new, and may be restored once they answer.
    expect(planMarks([view('a', { everMarked: true }), view('b'), view('c', down)])).toMatchObject({
      kind: 'wait',
      lost: false,
    });
    expect(planMarks([view('a', { suspect: true }), view('b'), view('c')])).toMatchObject({
      kind: 'wait',
      lost: false,
    });
  });

  it('leaves the servers out as lost when those that lost their mark leave no majority', () => {
    const plan = planMarks([view('a', { everMarked: true }), view('b', { suspect: true }), view('c', down)]);
    expect(plan).toMatchObject({ kind: 'wait', targets: ['a', 'b'], lost: true });
    expect(plan.kind === 'wait' && plan.reason).toMatch(/a, b lost their mark/);
  });

  it('counts a single server as its own majority', () => {
    expect(planMarks([view('a')])).toEqual({ kind: 'new-cluster', servers: ['a'] });
    expect(planMarks([view('a', { everMarked: true })])).toMatchObject({ kind: 'wait', lost: true });
  });
});

import { formatTable } from './table';

describe('formatTable', () => {
  it('renders a padded Markdown table: text left, numbers right, integers grouped, fractions to 4 digits', () => {
    const text = formatTable({
      title: 'Lookups',
      columns: ['partitioner', 'lookups/s', 'moved'],
      rows: [
        ['hash ring', 3386333, 0.0952912],
        ['modulo', 12, 1],
      ],
    });
    expect(text.split('\n')).toEqual([
      '### Lookups',
      '',
      '| partitioner | lookups/s |   moved |',
      '| ----------- | --------: | ------: |',
      '| hash ring   | 3,386,333 | 0.09529 |',
      '| modulo      |        12 |       1 |',
    ]);
  });

  it('leaves a missing cell empty and keeps a text cell in a numeric column as it is', () => {
    const text = formatTable({ title: 'T', columns: ['a', 'b'], rows: [[1], ['-', -1234]] });
    expect(text.split('\n').slice(2)).toEqual([
      '|   a |      b |',
      '| --: | -----: |',
      '|   1 |        |',
      '|   - | -1,234 |',
    ]);
  });
});

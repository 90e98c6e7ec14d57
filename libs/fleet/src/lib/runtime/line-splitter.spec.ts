import { LineSplitter } from './line-splitter';

function split(chunks: string[], lineCharsMax?: number): string[] {
  const lines: string[] = [];
  const splitter = new LineSplitter((line) => lines.push(line), lineCharsMax);
  for (const chunk of chunks) splitter.push(chunk);
  splitter.end();
  return lines;
}

describe('LineSplitter', () => {
  it('joins lines across chunks and keeps empty lines', () => {
    expect(split(['a', 'b\nc\n', '\nd'])).toEqual(['ab', 'c', '', 'd']);
  });

  it('drops the \\r of CRLF line ends', () => {
    expect(split(['a\r\nb\r', '\n'])).toEqual(['a', 'b']);
  });

  it('passes on an over-long line in pieces and never holds more than the limit', () => {
    expect(split(['abcdefg', 'h\n'], 3)).toEqual(['abc', 'def', 'gh']);
    expect(split(['abcdefgh\n'], 3)).toEqual(['abc', 'def', 'gh']);
  });
});

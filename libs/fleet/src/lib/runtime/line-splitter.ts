// Splits a child's output into lines for relaying with a service prefix.

/** Longest piece relayed at once: a longer line goes out in pieces, so a child that never ends a line cannot grow the launcher's memory. */
export const relayedLineCharsMax = 16_384;

export class LineSplitter {
  private pending = '';

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly lineCharsMax = relayedLineCharsMax,
  ) {}

  push(chunk: string): void {
    const text = this.pending + chunk;
    let start = 0;
    for (let newline = text.indexOf('\n'); newline !== -1; newline = text.indexOf('\n', start)) {
      this.emit(text.slice(start, newline));
      start = newline + 1;
    }
    let rest = text.slice(start);
    while (rest.length >= this.lineCharsMax) {
      this.onLine(rest.slice(0, this.lineCharsMax));
      rest = rest.slice(this.lineCharsMax);
    }
    this.pending = rest;
  }

  /** Passes on an unfinished last line when the stream ends. */
  end(): void {
    if (this.pending !== '') this.emit(this.pending);
    this.pending = '';
  }

  private emit(line: string): void {
    const text = line.endsWith('\r') ? line.slice(0, -1) : line;
    for (let start = 0; start === 0 || start < text.length; start += this.lineCharsMax) {
      this.onLine(text.slice(start, start + this.lineCharsMax));
    }
  }
}

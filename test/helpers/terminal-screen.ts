/**
 * What a terminal of `columns` × `rows` shows after `output`, scrollback included: one string per line, a line
 * the terminal wrapped onto several rows joined again, trailing blanks trimmed. It plays the sequences
 * cli-progress and Node's readline write (cursor moves, erase in line and display, autowrap on and off, hidden
 * cursor) and drops any other escape, as a VT100 shows none.
 */
export function terminalScreen(output: string, columns: number, rows: number): string[] {
  const lines: string[][] = [[]];
  // Rows that continue the row above because the text wrapped there.
  const continued = new Set<number>();
  let row = 0;
  let column = 0;
  let autowrap = true;
  const top = (): number => Math.max(0, lines.length - rows);
  const line = (): string[] => {
    while (lines.length <= row) lines.push([]);
    return lines[row] ?? [];
  };
  const lineFeed = (): void => {
    row += 1;
    line();
  };
  const put = (char: string): void => {
    if (column >= columns) {
      if (autowrap) {
        lineFeed();
        continued.add(row);
        column = 0;
      } else {
        column = columns - 1;
      }
    }
    const cells = line();
    while (cells.length < column) cells.push(' ');
    cells[column] = char;
    column += 1;
  };
  const pattern = /\x1b\[(\??)([\d;]*)([A-Za-z])|\x1b[78]|\x1b.|[\s\S]/gu;
  for (const match of output.matchAll(pattern)) {
    const [text, privateMark, params, command] = match;
    if (command !== undefined) {
      const n = Number((params ?? '').split(';')[0] || '0');
      if (privateMark === '?') {
        if (params === '7') autowrap = command === 'h';
        continue;
      }
      column = Math.min(column, columns - 1);
      switch (command) {
        case 'A':
          row = Math.max(top(), row - Math.max(1, n));
          break;
        case 'B':
          row += Math.max(1, n);
          line();
          break;
        case 'C':
          column = Math.min(columns - 1, column + Math.max(1, n));
          break;
        case 'D':
          column = Math.max(0, column - Math.max(1, n));
          break;
        case 'G':
          column = Math.max(0, Math.max(1, n) - 1);
          break;
        case 'K': {
          const cells = line();
          if (n === 2) {
            cells.length = 0;
            continued.delete(row);
          } else if (n === 0) cells.length = Math.min(cells.length, column);
          else for (let index = 0; index <= column && index < cells.length; index += 1) cells[index] = ' ';
          break;
        }
        case 'J':
          if (n === 0) {
            const cells = line();
            cells.length = Math.min(cells.length, column);
            if (column === 0) continued.delete(row);
            lines.length = row + 1;
            for (const index of continued) if (index > row) continued.delete(index);
          }
          break;
        default:
          break;
      }
      continue;
    }
    if (text.startsWith('\x1b')) continue;
    if (text === '\r') column = 0;
    else if (text === '\n') lineFeed();
    else if (text === '\b') column = Math.max(0, column - 1);
    else if (text >= ' ') put(text);
  }
  const joined: string[] = [];
  lines.forEach((cells, index) => {
    const text = cells.join('');
    if (continued.has(index) && joined.length > 0) joined[joined.length - 1] += text;
    else joined.push(text);
  });
  return joined.map((text) => text.trimEnd());
}

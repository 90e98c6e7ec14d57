// JSON.parse rounds every number to a double before anyone sees it (its
// reviver gets the source text only from Node 21), so the exact text of a
// number member is read here from the line itself. The line has already been
// parsed by JSON.parse, so this only has to find where things end; anything
// unexpected is a bug and throws. Loops over characters rather than regular
// expressions: this runs on every line, and a backtracking match of a long
// string overflows the stack.

function notJson(text: string, at: number): Error {
  return new Error(`not valid JSON at offset ${at}: ${text.slice(at, at + 20)}`);
}

const isWhitespace = (char: string | undefined) => char === ' ' || char === '\t' || char === '\n' || char === '\r';
const isDigit = (char: string | undefined) => char !== undefined && char >= '0' && char <= '9';
/** The characters a JSON number is made of after its first. */
const isNumberPart = (char: string | undefined) =>
  isDigit(char) || char === '.' || char === 'e' || char === 'E' || char === '+' || char === '-';
/** The characters of true, false and null. */
const isLetter = (char: string | undefined) => char !== undefined && char >= 'a' && char <= 'z';

function skipWhitespace(text: string, at: number): number {
  let index = at;
  while (isWhitespace(text[index])) index += 1;
  return index;
}

function skipWhile(text: string, at: number, isPart: (char: string | undefined) => boolean): number {
  let index = at + 1;
  while (isPart(text[index])) index += 1;
  return index;
}

/** Where the string literal opening at `at` ends: after the first quote not escaped by an odd run of backslashes. */
function stringEnd(text: string, at: number): number {
  if (text[at] !== '"') throw notJson(text, at);
  let quote = text.indexOf('"', at + 1);
  while (quote !== -1) {
    let backslashes = 0;
    while (text[quote - 1 - backslashes] === '\\') backslashes += 1;
    if (backslashes % 2 === 0) return quote + 1;
    quote = text.indexOf('"', quote + 1);
  }
  throw notJson(text, at);
}

/** Where the object or array opening at `at` ends: brackets counted, strings skipped whole. */
function nestedEnd(text: string, at: number): number {
  let depth = 0;
  let index = at;
  while (index < text.length) {
    const char = text[index];
    if (char === '"') {
      index = stringEnd(text, index);
      continue;
    }
    if (char === '{' || char === '[') depth += 1;
    else if ((char === '}' || char === ']') && --depth === 0) return index + 1;
    index += 1;
  }
  throw notJson(text, at);
}

const startsNumber = (char: string | undefined): boolean => char === '-' || isDigit(char);

/** Where the value starting at `at` ends. */
function valueEnd(text: string, at: number): number {
  const char = text[at];
  if (char === '"') return stringEnd(text, at);
  if (char === '{' || char === '[') return nestedEnd(text, at);
  if (startsNumber(char)) return skipWhile(text, at, isNumberPart);
  if (isLetter(char)) return skipWhile(text, at, isLetter);
  throw notJson(text, at);
}

/**
 * The source text of every member of a JSON object (`objectJson`, already
 * known to be valid) whose value is a number literal, by member name. As in
 * JSON.parse, a later member of the same name replaces an earlier one.
 */
export function numberLiteralsOf(objectJson: string): Map<string, string> {
  const literals = new Map<string, string>();
  const open = skipWhitespace(objectJson, 0);
  if (objectJson[open] !== '{') throw notJson(objectJson, open);
  let at = skipWhitespace(objectJson, open + 1);
  while (objectJson[at] !== '}') {
    const nameEnd = stringEnd(objectJson, at);
    const nameLiteral = objectJson.slice(at, nameEnd);
    const name = nameLiteral.includes('\\') ? (JSON.parse(nameLiteral) as string) : nameLiteral.slice(1, -1);
    at = skipWhitespace(objectJson, nameEnd);
    if (objectJson[at] !== ':') throw notJson(objectJson, at);
    at = skipWhitespace(objectJson, at + 1);
    const end = valueEnd(objectJson, at);
    if (startsNumber(objectJson[at])) literals.set(name, objectJson.slice(at, end));
    else literals.delete(name);
    at = skipWhitespace(objectJson, end);
    if (objectJson[at] === ',') at = skipWhitespace(objectJson, at + 1);
  }
  return literals;
}

/**
 * A kernel file whose content does not have the shape its parser knows. The message names the
 * file and the 1-based line, so a person can look at exactly what the kernel printed.
 */
export class ParseError extends Error {
  readonly code = 'PARSE_ERROR';
  constructor(
    readonly file: string,
    readonly line: number,
    detail: string,
  ) {
    super(`${file}:${line}: ${detail}`);
    this.name = 'ParseError';
  }
}

/**
 * A kernel file whose content does not have the shape its parser knows. The message names the
 * file and the 1-based line, so a person can look at exactly what the kernel printed; line 0 is
 * about the file as a whole (a directory where the file should be).
 */
export class ParseError extends Error {
  readonly code = 'PARSE_ERROR';
  constructor(
    readonly file: string,
    readonly line: number,
    detail: string,
  ) {
    super(line > 0 ? `${file}:${line}: ${detail}` : `${file}: ${detail}`);
    this.name = 'ParseError';
  }
}

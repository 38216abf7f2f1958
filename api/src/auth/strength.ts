/**
 * How guessable a new password is, by zxcvbn-ts with its common and English dictionaries (the
 * most common passwords of breach corpora, names, words, keyboard walks, repeats, sequences,
 * dates, l33t): NIST SP 800-63B 3.1.1.2 asks verifiers to refuse passwords found in lists of
 * commonly used, expected or compromised values, dictionary words, repetitive or sequential
 * characters and context-specific words (the service's and the user's names), and to tell the
 * user why. A length rule alone let `password1234`, `123456789012`, twelve spaces and
 * `aaaaaaaaaaaa` through.
 *
 * The dictionaries take a few hundred ms to load: the estimator is built on first use (or by
 * warmUpStrength() at start), once per process.
 */
import { ZxcvbnFactory } from '@zxcvbn-ts/core';
import * as common from '@zxcvbn-ts/language-common';
import * as en from '@zxcvbn-ts/language-en';

/**
 * Least zxcvbn score a new password needs: 3 means at least 10^8 guesses ("safely unguessable:
 * moderate protection from an offline slow-hash scenario"); 0-2 are the passwords an online or
 * a cheap offline attack finds first.
 */
export const MIN_SCORE = 3;

/** Words every PerfWatch password is checked against besides the dictionaries (context-specific words). */
const CONTEXT = ['perfwatch', 'grafana', 'prometheus'];

let factory: ZxcvbnFactory | undefined;

/**
 * The estimator runs on the event loop, and its l33t matching grows fast with length and with
 * substitutable characters (a 256-character password of symbols took seconds with the defaults):
 * it looks at the first 64 characters (a longer password is at least as strong as they are) with
 * at most 16 l33t substitutions per word, which keeps the worst case near 0.1 s and still finds
 * "p@ssw0rd1234".
 */
const ESTIMATE_MAX_LENGTH = 64;
const L33T_MAX_SUBSTITUTIONS = 16;

function estimator(): ZxcvbnFactory {
  factory ??= new ZxcvbnFactory({
    dictionary: { ...common.dictionary, ...en.dictionary },
    graphs: common.adjacencyGraphs,
    translations: en.translations,
    maxLength: ESTIMATE_MAX_LENGTH,
    l33tMaxSubstitutions: L33T_MAX_SUBSTITUTIONS,
  });
  return factory;
}

/** Loads the dictionaries now, so the first password change does not wait for them. */
export function warmUpStrength(): void {
  estimator();
}

export interface Strength {
  /** 0 (guessed in under 10^3 tries) to 4 (10^10 and more). */
  score: number;
  /** log10 of the estimated guesses. */
  guessesLog10: number;
  /** Why it is weak, in a sentence ("This is a commonly used password."), when it is. */
  warning: string | undefined;
  /** What would make it stronger, in sentences. */
  suggestions: string[];
}

/** How guessable password is; userInputs are words of this account (its user name). */
export function passwordStrength(password: string, userInputs: readonly string[] = []): Strength {
  const r = estimator().check(password, [...CONTEXT, ...userInputs.filter((w) => w.length > 0)]);
  return { score: r.score, guessesLog10: r.guessesLog10, warning: r.feedback.warning ?? undefined, suggestions: r.feedback.suggestions };
}

/** Why password is too guessable (the estimator's own reason and advice), or undefined when it is not. */
export function guessableProblem(password: string, userInputs: readonly string[] = []): string | undefined {
  const s = passwordStrength(password, userInputs);
  if (s.score >= MIN_SCORE) return undefined;
  const why = [s.warning, ...s.suggestions].filter((x): x is string => !!x);
  return `is too easy to guess.${why.length ? ` ${why.join(' ')}` : ' Add another word or two, less common ones.'}`;
}

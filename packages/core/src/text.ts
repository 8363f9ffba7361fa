import { z } from 'zod';

/** What a string field that holds a NUL or an unpaired surrogate answers (API.md, `VALIDATION`). */
export const WELL_FORMED_TEXT_MESSAGE = 'expected text without NUL characters or unpaired surrogates';

/**
 * The base of every string field of every input: text PostgreSQL can store and compare. A NUL byte is
 * refused by the server's protocol (SQLSTATE 08P01, which drops the connection) and a lone surrogate
 * cannot be encoded as UTF-8, so both are VALIDATION here rather than a database fault. It aborts, so a
 * field's own checks (a pattern, a length) say nothing more about such a value.
 */
export const wellFormedText = z
  .string()
  .refine((value) => value.isWellFormed() && !value.includes('\0'), { message: WELL_FORMED_TEXT_MESSAGE, abort: true });

/**
 * A bigint key on the wire (API.md): its decimal, no leading zero, at most 18 digits, so PostgreSQL never
 * rejects it as out of range. Every id an input names (a concert, a reservation, a token) is one.
 */
export const DECIMAL_ID = /^[1-9][0-9]{0,17}$/;

/** A well-formed text that is a `DECIMAL_ID`, refused with `message` otherwise. */
export const decimalIdSchema = (message: string) => wellFormedText.regex(DECIMAL_ID, message);

type Issue = Parameters<z.core.$ZodErrorMap>[0];

const ARTICLE = /^[aeiou]/;
const NOUNS: Record<string, string> = { int: 'integer', array: 'list' };

/**
 * Zod's message for an issue a schema gives no message of its own, as a short sentence without the
 * schema's internals (no pattern, no JSON): "expected an integer", "expected at least 1". Installed with
 * `z.config({ customError: issueMessage })` by the API, so `data.issues` and the error's message read the same.
 */
export function issueMessage(issue: Issue): string | undefined {
  switch (issue.code) {
    case 'invalid_type': {
      if (issue.input === undefined) return 'required';
      const noun = NOUNS[issue.expected] ?? issue.expected;
      return `expected ${ARTICLE.test(noun) ? 'an' : 'a'} ${noun}`;
    }
    case 'too_small':
    case 'too_big': {
      const small = issue.code === 'too_small';
      const bound = small ? issue.minimum : issue.maximum;
      if (issue.origin === 'number' || issue.origin === 'bigint' || issue.origin === 'int') {
        return `expected a number ${small ? (issue.inclusive ? '≥' : '>') : issue.inclusive ? '≤' : '<'} ${bound}`;
      }
      const unit = issue.origin === 'string' ? 'characters' : 'items';
      return `expected ${small ? 'at least' : 'at most'} ${bound} ${unit}`;
    }
    case 'invalid_format':
      return issue.format === 'regex' ? 'has the wrong format' : `expected a ${issue.format}`;
    case 'invalid_value':
      return `expected one of ${issue.values.map((value: unknown) => JSON.stringify(value)).join(', ')}`;
    case 'unrecognized_keys':
      return `unknown field(s) ${issue.keys.join(', ')}`;
    default:
      return undefined;
  }
}

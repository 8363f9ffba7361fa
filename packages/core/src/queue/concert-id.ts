import { decimalIdSchema } from '../text.ts';

/** A concert id on the wire: the decimal of a bigint key (API.md); anything longer could not be a key. */
export const concertIdSchema = decimalIdSchema('expected a concert id (a decimal number)');

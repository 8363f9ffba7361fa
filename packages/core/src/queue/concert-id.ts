import { wellFormedText } from '../text.ts';

/** A concert id on the wire: the decimal of a bigint key (API.md); anything longer could not be a key. */
export const concertIdSchema = wellFormedText.regex(/^[1-9]\d{0,17}$/, 'expected a concert id (a decimal number)');

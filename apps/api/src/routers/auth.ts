import { z } from 'zod';
import { wellFormedText } from '@frontrow/core';
import { fail } from '../errors.ts';
import { publicProcedure, router } from '../trpc.ts';

/** A person's name as the development sign-in takes it: the token's subject. */
const devSignInInput = z.object({ name: wellFormedText.trim().min(1).max(64) });

export const authRouter = router({
  /**
   * Development only: a development identity token for a name, so the web app signs in with no identity
   * provider. Answers DEV_SIGN_IN_DISABLED unless the API trusts development tokens and no provider
   * (never with AUTH_JWKS_URL). Never an operator's token.
   */
  devSignIn: publicProcedure
    .input(devSignInInput)
    .output(z.object({ token: z.string(), userId: z.string(), expiresAt: z.string() }))
    .mutation(async ({ ctx, input }) => {
      if (!ctx.devSignIn) fail('DEV_SIGN_IN_DISABLED', "development sign-in is off here: sign in with the operator's identity provider");
      return await ctx.devSignIn(input.name);
    }),
});

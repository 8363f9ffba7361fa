/**
 * Preloaded into an API process by graceful-shutdown.test.ts (`NODE_OPTIONS=--import=…`): SIGWINCH, which
 * close-with-grace leaves alone, raises an uncaught error, so the test can take the fatal path on cue.
 */
process.once('SIGWINCH', () => {
  throw new Error('an uncaught error raised by the test');
});

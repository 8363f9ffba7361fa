import { DomainError } from '../errors.ts';

export type WatchHandle = {
  /** Aborted when the client went away, or when a newer watch of the same token replaced this one. */
  signal: AbortSignal;
  /** Gives the stream's place back; call once the stream ended, however it ended. */
  close(): void;
};

/**
 * The open `queue.watch` streams of one process (issue 13): at most one live stream per queue token (a
 * new one ends the old, so a reconnecting client never holds two), and at most `maxStreams` in all (a
 * new token's stream past it is refused with STREAM_LIMIT; the client polls `queue.status` or retries).
 * A closed stream leaves nothing behind.
 */
export class WatchRegistry {
  readonly #maxStreams: number;
  readonly #streams = new Map<string, AbortController>();

  constructor(maxStreams: number) {
    this.#maxStreams = maxStreams;
  }

  get size(): number {
    return this.#streams.size;
  }

  /** A place for `tokenId`'s stream, ending the token's earlier one; throws STREAM_LIMIT when full. */
  open(tokenId: string, client: AbortSignal | undefined): WatchHandle {
    const earlier = this.#streams.get(tokenId);
    if (!earlier && this.#streams.size >= this.#maxStreams) {
      throw new DomainError(
        'STREAM_LIMIT',
        `this server has ${this.#maxStreams} open queue.watch streams, its most; poll queue.status or retry shortly`,
      );
    }
    earlier?.abort();
    const mine = new AbortController();
    this.#streams.set(tokenId, mine);
    const onClientGone = () => mine.abort();
    client?.addEventListener('abort', onClientGone, { once: true });
    if (client?.aborted) mine.abort();
    return {
      signal: mine.signal,
      close: () => {
        client?.removeEventListener('abort', onClientGone);
        if (this.#streams.get(tokenId) === mine) this.#streams.delete(tokenId);
      },
    };
  }
}

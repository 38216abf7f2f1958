/**
 * "Save & test" against real servers: the seeded api, an api whose database is unreachable, a port
 * where nothing listens, and an HTTP server that is not PerfWatch.
 */
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { queryRequest, testApi, wire } from './testing/setup';

const api = testApi();

function listen(server: Server): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`))
  );
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

describe('testDatasource', () => {
  it('success: the database is ready and the token accepted; says how many hosts', async () => {
    const { ds } = wire({ apiUrl: api.url, token: api.token });
    const r = await ds.testDatasource();
    expect(r.status).toBe('success');
    expect(r.message).toMatch(/^PerfWatch is ready \(schema \d+\): 3 hosts with history \(alpha, beta, gamma\)\.$/);
  });

  it('no API URL set', async () => {
    const { ds } = wire({ token: api.token });
    const r = await ds.testDatasource();
    expect(r.status).toBe('error');
    expect(r.message).toMatch(/Set the API URL/);
  });

  it('the URL is unreachable (nothing listens there)', async () => {
    const server = createServer();
    const url = await listen(server);
    await close(server); // the port is free again: connections are refused
    const { ds } = wire({ apiUrl: url, token: api.token });
    const r = await ds.testDatasource();
    expect(r.status).toBe('error');
    expect(r.message).toMatch(new RegExp(`^Cannot reach the PerfWatch API at ${url} \\(HTTP 502`));
    expect(r.details?.message).toMatch(/Check the API URL/);
  });

  it('the URL answers but is not PerfWatch', async () => {
    const server = createServer((_, res) => {
      res.writeHead(404, { 'content-type': 'text/html' }).end('<h1>Not Found</h1>');
    });
    const url = await listen(server);
    try {
      const { ds } = wire({ apiUrl: url, token: api.token });
      const r = await ds.testDatasource();
      expect(r.status).toBe('error');
      expect(r.message).toMatch(new RegExp(`^${url} is not the PerfWatch API: /ready answered HTTP 404`));
    } finally {
      await close(server);
    }
  });

  it('the token is refused: wrong, or none set', async () => {
    for (const token of ['pw_not-a-token-at-all-00000000000000000000000', undefined]) {
      const { ds } = wire({ apiUrl: api.url, token });
      const r = await ds.testDatasource();
      expect(r.status).toBe('error');
      expect(r.message).toMatch(/refused the API token \(401\)/);
      expect(r.details?.message).toMatch(/Create an API token/);
    }
  });

  it('a panel query with a refused token says so', async () => {
    const { ds } = wire({ apiUrl: api.url, token: 'pw_not-a-token-at-all-00000000000000000000000' });
    await expect(ds.getMetrics()).rejects.toMatchObject({ unauthorized: true, status: 400 });
    await expect(ds.metricFindQuery('hosts()')).rejects.toThrow(/refused this datasource's API token \(401\)/);
    const res = await ds.query(
      queryRequest([{ metric: 'perfwatch_load_average_1m' }], api.from, api.to, { maxDataPoints: 100, intervalMs: 5000 })
    );
    expect(res.errors![0]!.message).toMatch(/refused this datasource's API token/);
  });

  it("the API's database is down: /ready's 503 and its reason", async () => {
    const { ds } = wire({ apiUrl: api.downUrl, token: api.token });
    const r = await ds.testDatasource();
    expect(r.status).toBe('error');
    expect(r.message).toMatch(
      new RegExp(`^PerfWatch answers at ${api.downUrl}, but its database is not ready \\(DB_UNAVAILABLE\\): `)
    );
  });

  it('a query while the database is down shows the API message', async () => {
    const { ds } = wire({ apiUrl: api.downUrl, token: api.token });
    await expect(ds.getHosts()).rejects.toMatchObject({ status: 503, code: 'DB_UNAVAILABLE' });
    const res = await ds.query(
      queryRequest(
        [{ metric: 'perfwatch_load_average_1m' }, { refId: 'Anno', queryType: 'annotations', kinds: ['gap'] }],
        api.from,
        api.to,
        { maxDataPoints: 100, intervalMs: 5000 }
      )
    );
    expect(res.data).toEqual([]);
    expect(res.errors!.map((e) => [e.refId, e.status, (e.message ?? '').split(':')[0]])).toEqual([
      ['Anno', 503, 'DB_UNAVAILABLE'],
      [undefined, 503, 'DB_UNAVAILABLE'],
    ]);
  });
});

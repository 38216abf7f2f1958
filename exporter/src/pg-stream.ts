/**
 * Imported first by main.ts, before anything loads pg. pg decides when it loads whether it runs in
 * a Cloudflare Worker (pg/lib/stream.js), and on Node 20, which has no `navigator`, it does so by
 * touching the global `Response`: that loads Node's fetch implementation (undici), ~12 MB of RSS
 * the exporter never uses (its RSS target is 70 MB). So pg's stream module is put into the
 * require cache first, holding pg's own Node.js branch of it (the same two functions: a
 * net.Socket, and tls.connect for TLS), and the probe never runs. Where pg is not found, or
 * keeps that file elsewhere, nothing is done and pg loads as it would.
 */
import { existsSync } from 'node:fs';
import { createRequire, Module } from 'node:module';
import net from 'node:net';
import { dirname, join } from 'node:path';

/** Installs the stream module for the pg that `from`'s (a file URL's) package resolves; whether it did. */
export function preloadPgStream(from: string): boolean {
  try {
    const req = createRequire(from);
    // the pg that @perfwatch/store loads (it is store's dependency)
    const pgMain = createRequire(req.resolve('@perfwatch/store')).resolve('pg');
    const file = join(dirname(pgMain), 'stream.js');
    if (!existsSync(file) || req.cache[file]) return false;
    const m = new Module(file);
    m.filename = file;
    m.loaded = true;
    m.exports = {
      getStream: () => new net.Socket(),
      getSecureStream: (options: object) => req('node:tls').connect(options),
    };
    req.cache[file] = m;
    return true;
  } catch {
    return false;
  }
}

preloadPgStream(import.meta.url);

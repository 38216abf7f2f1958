/**
 * "Save & test": /ready first (is the URL the PerfWatch API, is its database up), then an
 * authenticated route (does the API accept the token), each failure said as what to fix.
 */
import { apiRequest, ApiRequestError } from './api';
import { HostInfo } from './types';

export interface HealthResult {
  status: 'success' | 'error';
  message: string;
  details?: { message?: string };
}

interface Ready {
  status: string;
  schemaVersion?: number;
}

const HINT_URL =
  'Check the API URL in the datasource settings: the PerfWatch API, e.g. http://perfwatch-api:8000 (without /api/v1), reachable from the Grafana server.';

/** What the check asks (the DataSource): the proxy URL for /ready, the configured URL, the hosts. */
export interface HealthSource {
  proxyUrl: string;
  apiUrl?: string;
  getHosts(): Promise<HostInfo[]>;
}

/** The database-down message, whether /ready or a route said it. */
function databaseNotReady(apiUrl: string, err: ApiRequestError): string {
  return `PerfWatch answers at ${apiUrl}, but its database is not ready (${err.code ?? err.status}): ${err.message}`;
}

export async function checkHealth(src: HealthSource): Promise<HealthResult> {
  const { proxyUrl, apiUrl } = src;
  if (!apiUrl) {
    return { status: 'error', message: 'Set the API URL of PerfWatch (e.g. http://perfwatch-api:8000).' };
  }
  let ready: Ready;
  try {
    ready = await apiRequest<Ready>(proxyUrl, '/ready');
  } catch (e) {
    const err = e as ApiRequestError;
    if (err.status === 503 && err.code) {
      return {
        status: 'error',
        message: databaseNotReady(apiUrl, err),
        details: {
          message: 'The API recovers by itself once the database is back; see the api log and docs/operations.md.',
        },
      };
    }
    if (err.status === 0 || err.status === 502 || err.status === 504) {
      return {
        status: 'error',
        message: `Cannot reach the PerfWatch API at ${apiUrl} (${err.message}).`,
        details: { message: HINT_URL },
      };
    }
    return {
      status: 'error',
      message: `${apiUrl} is not the PerfWatch API: /ready answered ${err.message}.`,
      details: { message: HINT_URL },
    };
  }
  if (ready?.status !== 'ready') {
    return {
      status: 'error',
      message: `${apiUrl} is not the PerfWatch API: /ready did not answer {"status":"ready"}.`,
      details: { message: HINT_URL },
    };
  }
  try {
    const hosts = await src.getHosts();
    const names = hosts.map((h) => h.name);
    const shown = names.slice(0, 5).join(', ') + (names.length > 5 ? ', ...' : '');
    return {
      status: 'success',
      message: `PerfWatch is ready (schema ${ready.schemaVersion ?? '?'}): ${hosts.length} ${hosts.length === 1 ? 'host' : 'hosts'} with history${names.length ? ` (${shown})` : ''}.`,
    };
  } catch (e) {
    const err = e as ApiRequestError;
    if (err.unauthorized) {
      return {
        status: 'error',
        message: 'The PerfWatch API refused the API token (401): it is missing, mistyped, revoked or expired.',
        details: {
          message:
            'Create an API token in the PerfWatch admin UI (Tokens; role viewer is enough) and paste it into "API token".',
        },
      };
    }
    if (err.status === 403) {
      return {
        status: 'error',
        message: `The PerfWatch API accepted the token but refused the request (${err.code ?? 403}): ${err.message}`,
      };
    }
    if (err.status === 503) {
      return {
        status: 'error',
        message: databaseNotReady(apiUrl, err),
      };
    }
    return { status: 'error', message: `The PerfWatch API failed listing hosts: ${err.message}` };
  }
}

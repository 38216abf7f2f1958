import { useEffect, useState } from 'react';

export interface AsyncState<T> {
  value?: T;
  error?: string;
  loading: boolean;
}

/** Runs load() whenever key changes; loading until its answer; answers for an older key are dropped. */
export function useAsync<T>(load: () => Promise<T>, key: unknown): AsyncState<T> {
  const [state, setState] = useState<{ key: unknown; value?: T; error?: string }>();
  useEffect(() => {
    let current = true;
    load().then(
      (value) => current && setState({ key, value }),
      (err: unknown) => current && setState({ key, error: err instanceof Error ? err.message : String(err) })
    );
    return () => {
      current = false;
    };
    // load is a new closure every render; key says when it means something else
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);
  return { value: state?.value, error: state?.error, loading: state?.key !== key };
}

/** Options whose label or description contains what was typed (case-insensitive). */
export function filterOptions<O extends { label?: string; value: string | number; description?: string }>(
  options: O[],
  typed: string
): O[] {
  const t = typed.trim().toLowerCase();
  return t ? options.filter((o) => `${o.label ?? o.value} ${o.description ?? ''}`.toLowerCase().includes(t)) : options;
}

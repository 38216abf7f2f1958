# syntax=docker/dockerfile:1
# Debian's pgbouncer in transaction pooling mode, in front of the db service: the exporters of a
# fleet write through it (PERFWATCH_DB_POOLER=transaction), so that hundreds of hosts share a few
# server connections (docs/scaling.md). The api connects to the db directly (LISTEN, pg-boss and
# migrations need sessions of their own).
ARG DEBIAN_IMAGE=debian:bookworm-slim
FROM ${DEBIAN_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends pgbouncer postgresql-client \
 && rm -rf /var/lib/apt/lists/*
COPY docker/pgbouncer-entrypoint.sh /usr/local/bin/pgbouncer-entrypoint.sh
USER postgres
EXPOSE 6432
ENTRYPOINT ["/bin/sh", "/usr/local/bin/pgbouncer-entrypoint.sh"]
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["pg_isready", "-h", "127.0.0.1", "-p", "6432"]

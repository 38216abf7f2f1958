#!/bin/sh
# Writes pgbouncer's configuration from the environment (docker-compose.yml's pgbouncer service)
# and runs it in the foreground. One database, one user: the clients authenticate with the
# database's own user and password (SCRAM), which pgbouncer also uses towards PostgreSQL.
set -eu
: "${DB_HOST:=db}" "${DB_PORT:=5432}" "${DB_NAME:?}" "${DB_USER:?}" "${DB_PASSWORD:?}"
: "${POOL_SIZE:=20}" "${MAX_CLIENT_CONN:=2000}"
dir=$(mktemp -d -t pgbouncer.XXXXXX)
mkdir -p "$dir"
umask 077
printf '"%s" "%s"\n' "$DB_USER" "$DB_PASSWORD" > "$dir/users.txt"
cat > "$dir/pgbouncer.ini" <<INI
[databases]
${DB_NAME} = host=${DB_HOST} port=${DB_PORT} dbname=${DB_NAME}

[pgbouncer]
listen_addr = 0.0.0.0
listen_port = 6432
unix_socket_dir =
auth_type = scram-sha-256
auth_file = ${dir}/users.txt
; a server connection serves one transaction at a time, then the next client's
pool_mode = transaction
default_pool_size = ${POOL_SIZE}
max_client_conn = ${MAX_CLIENT_CONN}
; the exporter's pool closes idle connections itself; keep server connections warm
server_idle_timeout = 60
logfile =
pidfile =
INI
exec pgbouncer "$dir/pgbouncer.ini"

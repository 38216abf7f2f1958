# syntax=docker/dockerfile:1
# Grafana with PerfWatch's data source plugin, provisioning and dashboards baked in: the
# production override (docker-compose.prod.yml) runs this instead of bind-mounting them.
# Build the plugin first (cd datasource-plugin && npm ci && npm run build): its dist/ is copied.
ARG GRAFANA_IMAGE=grafana/grafana:12.3.0
FROM ${GRAFANA_IMAGE}
COPY datasource-plugin/dist /var/lib/grafana/plugins/perfwatch-history-datasource
COPY grafana/provisioning /etc/grafana/provisioning
COPY dashboards/perfwatch /var/lib/grafana/dashboards/perfwatch
COPY dashboards/prometheus /var/lib/grafana/dashboards/prometheus
# The plugin is not signed by Grafana Labs: allow this one id to load unsigned.
ENV GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS=perfwatch-history-datasource
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["wget", "-q", "-O", "/dev/null", "http://127.0.0.1:3000/api/health"]

# syntax=docker/dockerfile:1
# Prometheus with prometheus/prometheus.yml baked in: the production override
# (docker-compose.prod.yml) runs this instead of bind-mounting the file.
ARG PROMETHEUS_IMAGE=prom/prometheus:v3.5.0
FROM ${PROMETHEUS_IMAGE}
COPY prometheus/prometheus.yml /etc/prometheus/prometheus.yml
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["wget", "-q", "-O", "/dev/null", "http://127.0.0.1:9090/-/ready"]

# Prometheus scrape configuration for the mqttctl MQTT broker ({{version}}).
#
# The broker serves Prometheus text on http://<metrics.host>:<metrics.port>/metrics once
# metrics.enabled is true in etc/broker.json (or `mqttctl start --metrics`). Its default address is
# 127.0.0.1:9234, reachable only from the broker's host: run Prometheus there, or set metrics.host to
# an address Prometheus can reach (and firewall it). Merge the scrape_configs entry into your
# prometheus.yml, or run `prometheus --config.file=prometheus.yml` for this broker alone.
global:
  scrape_interval: 15s
  evaluation_interval: 15s

scrape_configs:
  - job_name: mqtt-broker
    metrics_path: /metrics
    scrape_interval: 15s
    static_configs:
      - targets: ['{{target}}']
        labels:
          tier: '{{tier}}'

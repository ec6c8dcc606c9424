# {{name}}: one of {{count}} NATS servers joining the mqttctl broker nodes (docs/scale-out.md,
# "Production NATS: three servers"). Written by mqttctl build; every value is checked by
# `nats-server -t -c FILE`.
#
# Install on {{host}} as /etc/nats-server.conf (Debian's nats-server unit reads it):
#   sudo apt-get install nats-server
#   sudo install -m 644 {{file}} /etc/nats-server.conf
#   sudo install -d -o nats -g nats {{storeDir}}
#   sudo systemctl restart nats-server
# Check: nats-server -t -c /etc/nats-server.conf

server_name: {{name}}
listen: "{{listen}}"
# Largest message NATS carries ({{maxPayloadText}}); larger MQTT payloads stay on their node.
max_payload: {{maxPayload}}

# JetStream keeps the retained messages and the QoS 1/2 copies for persistent sessions on other
# nodes (the copies stream is bounded to 1 GiB): {{maxFileStoreText}} = mqttctl plan's figure.
jetstream {
  store_dir: "{{storeDir}}"
  max_file_store: {{maxFileStore}}
}
{{clusterBlock}}

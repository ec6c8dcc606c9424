{{header}}
#
# Enable: systemctl daemon-reload && systemctl enable --now mqtt-broker
# Logs:   journalctl -u mqtt-broker -f

[Unit]
Description=MQTT broker (mqttctl, tier {{tier}})
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
User={{user}}
Group={{user}}
WorkingDirectory={{installDir}}
ExecStart={{installDir}}/bin/mqtt-broker --config {{installDir}}/etc/broker.json
LimitNOFILE={{openFiles}}
LimitNPROC={{maxProcesses}}
Restart=on-failure
RestartSec=5s
TimeoutStopSec=30s
StandardOutput=journal
StandardError=journal
SyslogIdentifier=mqtt-broker

[Install]
WantedBy=multi-user.target

{{header}}
#
# Enable: systemctl daemon-reload && systemctl enable --now mqtt-broker
# Logs:   journalctl -u mqtt-broker -f
# Reload: systemctl reload mqtt-broker (password, ACL files and TLS certificates)

[Unit]
Description=MQTT broker (mqttctl, tier {{tier}})
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
User={{user}}
Group={{user}}
WorkingDirectory={{installDir}}
# V8 heap limit and semi-space from the plan (runtime.maxOldSpaceMb / maxSemiSpaceMb): also read by a
# single-executable build, which takes no node flags on its command line.
Environment="NODE_OPTIONS={{nodeOptions}}"
ExecStart={{installDir}}/bin/mqtt-broker --config {{installDir}}/etc/broker.json
# systemctl reload mqtt-broker: re-reads the password and ACL files and the TLS certificates without
# dropping connections (a bad new file keeps the old one; the journal says why).
ExecReload=/bin/kill -HUP $MAINPID
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

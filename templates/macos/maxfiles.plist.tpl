<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
{{header}}
<plist version="1.0">
<dict>
  <key>Label</key>
  <string>{{label}}</string>
  <key>ProgramArguments</key>
  <array>
    <string>/bin/sh</string>
    <string>-c</string>
    <string>/usr/sbin/sysctl -w kern.maxfiles={{kernMaxfiles}} kern.maxfilesperproc={{maxfiles}} &amp;&amp; /bin/launchctl limit maxfiles {{maxfiles}} {{maxfiles}}</string>
  </array>
  <key>RunAtLoad</key>
  <true/>
  <key>LaunchOnlyOnce</key>
  <true/>
</dict>
</plist>

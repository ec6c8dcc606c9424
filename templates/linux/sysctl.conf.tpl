{{header}}
#
# Apply with ./apply.sh (backs up the running values first, never lowers a higher one, verifies),
# or by hand: sysctl -p /etc/sysctl.d/99-mqtt.conf
# A key written as "-key = value" is kernel- or module-specific: sysctl skips it where it is missing.

{{entries}}

#!/bin/sh
# colinux: run by acpid when the power button is pressed.
echo "colinux: power button pressed, shutting down" >/dev/console
exec /sbin/shutdown -h -P now "power button pressed"

#!/bin/sh
# colinux: run by acpid after a resume from a snapshot (see events/colinux-resume).
rtc=/sys/class/rtc/rtc0/since_epoch
[ -r "$rtc" ] && date -u -s "@$(cat "$rtc")" >/dev/null

# fault_clock.sh: clock jumps while connections are open and load runs.
#
# What echod does (and this test holds it to):
#   - The monotonic clock is its only measure of elapsed time. A forward
#     jump is time that passed, as if the process had been stopped: a timer
#     due within the jump fires once (an idle_timeout shorter than the jump
#     closes an idle connection, reason=idle-timeout), one longer is
#     untouched (held connections live on), and the loop-lag monitor
#     reports that one late tick once, not on every tick after it.
#   - The wall clock is only read, never used to time anything: jumping it
#     back or forward changes what daytime and time report and the log's
#     timestamps; no timer fires early or late, no lag is reported.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fault_lib.sh"

cat >"$tmp/echod.ini" <<INI
[server]
workers = 2
[log]
connections = yes
[debug]
enabled = yes
; only a jump is that late on a busy test machine
lag_threshold_ms = 2000
slow_callback_ms = 2000
[listener echo]
bind = 127.0.0.1:0
service = echo
idle_timeout = 60s
[listener short]
bind = 127.0.0.1:0
service = echo
idle_timeout = 4s
[listener daytime]
bind = 127.0.0.1:0
service = daytime
daytime_format = rfc3339
[listener time]
bind = 127.0.0.1:0
service = time
[listener admin]
bind = unix:$ADMIN
service = admin
INI
start_echod "$tmp/echod.ini"
P=$(port_of echo) || fail "no echo port"
PS=$(port_of short) || fail "no short port"
PD=$(port_of daytime) || fail "no daytime port"
PTM=$(port_of time) || fail "no time port"
fresh_ok "$P"
BASE=$(fd_count)

# daytime_s: what the daytime service says now, in seconds since the epoch.
daytime_s()
{
	local t

	t=$(tclient fetch 127.0.0.1 "$PD" 100 | tr -d '\r\n')
	date -u -d "$t" +%s 2>/dev/null || fail "daytime said '$t'"
}

# time_s: what the time service (RFC 868) says now, in seconds since the epoch.
time_s()
{
	local v

	v=$(tclient fetch 127.0.0.1 "$PTM" 4 | od -A n -t u1 | awk '{ print (($1 * 256 + $2) * 256 + $3) * 256 + $4 }')
	[ -n "$v" ] || fail "no answer from the time service"
	echo $((v - 2208988800))
}

# near A B SLACK: |A - B| <= SLACK.
near()
{
	local d=$(($1 - $2))

	[ "${d#-}" -le "$3" ]
}

near "$(daytime_s)" "$(date +%s)" 5 || fail "daytime is off before any jump"

# ---- monotonic clock +5 s: idle_timeout 60 s untouched, 4 s fires, one lag line
spawn "$LOADGEN" idle -c 20 -s 64 -d 4 -t 20 "127.0.0.1:$P" >"$tmp/lg.idle.out" 2>"$tmp/lg.idle.err"
idle=$SPAWN_PID
spawn "$TCLIENT" -T 30 hold 127.0.0.1 "$PS" 20 >"$tmp/short.out" 2>&1
short=$SPAWN_PID
expect_log "open listener=short"
wait_file_grep '^established=20 ' 10 "$tmp/lg.idle.out" || fail "idle connections not established"
lag0=$(log_count 'loop lag lag_ms=')
t0=$(date +%s)
fault_set 'clock=+5000'
lg jumped stream -c 4 -s 1000 -W 2 -w 0 -d 2 "127.0.0.1:$P"
expect_log 'close listener=short .*reason=idle-timeout' 5
[ $(($(date +%s) - t0)) -lt 4 ] || fail "the 4 s idle timeout fired only after real time ran out"
wait_exit "$idle" 30 || fail "loadgen idle did not end"
[ "$WAIT_STATUS" -eq 0 ] || fail "held connections did not survive the jump: $(cat "$tmp/lg.idle.out" "$tmp/lg.idle.err")"
no_log 'listener=echo .*reason=idle-timeout'
lags=$(($(log_count 'loop lag lag_ms=') - lag0))
[ "$lags" -le 1 ] || fail "$lags loop lag lines for one jump"
note "monotonic +5 s: 20 held connections verified, short idle closed, $lags lag line(s)"
wait_exit "$short" 10 || fail "the short client was not closed"

# ---- wall clock one hour back, then a day forward: reported, nothing else moves
# (the +5 s jump above stays, and moved the wall clock too: now is 5 s later)
lag0=$(log_count 'loop lag lag_ms=')
spawn "$LOADGEN" idle -c 10 -s 64 -d 3 -t 20 "127.0.0.1:$P" >"$tmp/lg.idle2.out" 2>"$tmp/lg.idle2.err"
idle=$SPAWN_PID
wait_file_grep '^established=10 ' 10 "$tmp/lg.idle2.out" || fail "idle connections not established"
fault_set 'wallclock=-3600000'
lg back stream -c 4 -s 1000 -W 2 -w 0 -d 1 "127.0.0.1:$P"
now=$(($(date +%s) + 5))
d=$(daytime_s)
near "$d" $((now - 3600)) 5 || fail "daytime does not report the clock an hour back: $d, now $now"
d=$(time_s)
near "$d" $((now - 3600)) 5 || fail "time does not report the clock an hour back: $d, now $now"
fault_set 'wallclock=+86400000'
lg forward stream -c 4 -s 1000 -W 2 -w 0 -d 1 "127.0.0.1:$P"
now=$(($(date +%s) + 5))
d=$(daytime_s)
near "$d" $((now + 86400)) 5 || fail "daytime does not report the clock a day ahead: $d, now $now"
d=$(time_s)
near "$d" $((now + 86400)) 5 || fail "time does not report the clock a day ahead: $d, now $now"
wait_exit "$idle" 30 || fail "loadgen idle did not end"
[ "$WAIT_STATUS" -eq 0 ] || fail "held connections did not survive the wall clock jumps: $(cat "$tmp/lg.idle2.out")"
[ "$(log_count 'loop lag lag_ms=')" -eq "$lag0" ] || fail "a wall clock jump was taken for loop lag"
no_log 'listener=echo .*reason=idle-timeout'
# the monotonic jump stays: undoing it would move that clock back
fault_set 'wallclock=0'
near "$(daytime_s)" $(($(date +%s) + 5)) 5 || fail "daytime is off after the wall jumps were undone"
note "wall clock -1 h and +1 d: daytime and time follow, 10 held connections verified, no lag"

fresh_ok "$P"
fd_settle "$BASE"
stop_echod

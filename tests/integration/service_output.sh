# service_output.sh: the exact output of every RFC service: discard (863),
# chargen (864), daytime (867, ctime and RFC 3339), time (868); answer-and-
# close services keep their reply when the client already sent bytes.
. "$(dirname "$0")/lib.sh"

CHARGEN_CYCLE_SHA256=3cdea95b39ae39243127adde7cd303a8b8c9f25248a3fc0c483ba70b00fb8f19

# chargen_gen BYTES: the RFC 864 stream: line N is 72 characters of the
# printable ring 32..126 starting at N mod 95, then CR LF.
chargen_gen()
{
	awk -v n="$1" 'BEGIN {
		for (l = 0; out < n; l++) {
			s = ""
			for (j = 0; j < 72; j++)
				s = s sprintf("%c", 32 + (l + j) % 95)
			printf "%s\r\n", s
			out += 74
		}
	}' | head -c "$1"
}

sha256()
{
	sha256sum "$1" | cut -d' ' -f1
}

# The generator itself must produce the published cycle.
chargen_gen 7030 >"$tmp/cycle.ref"
[ "$(sha256 "$tmp/cycle.ref")" = "$CHARGEN_CYCLE_SHA256" ] ||
    fail "the test's own chargen generator is wrong"

cat >"$tmp/echod.ini" <<INI
[server]
shutdown_timeout = 5s
linger_timeout = 1s

[log]
level = info
connections = yes

[listener discard]
bind = 127.0.0.1:0
service = discard

[listener chargen]
bind = 127.0.0.1:0
service = chargen

[listener daytime]
bind = 127.0.0.1:0
service = daytime

[listener daytime3339]
bind = 127.0.0.1:0
service = daytime
daytime_format = rfc3339

[listener time]
bind = 127.0.0.1:0
service = time
INI
start_echod "$tmp/echod.ini"
expect_log 'ready listeners=5'
PD=$(port_of discard) || fail "no discard port"
PC=$(port_of chargen) || fail "no chargen port"
PY=$(port_of daytime) || fail "no daytime port"
PR=$(port_of daytime3339) || fail "no daytime3339 port"
PT=$(port_of time) || fail "no time port"
for l in discard chargen daytime daytime3339 time; do
	svc=$l
	[ "$l" = daytime3339 ] && svc=daytime
	expect_log "listening listener=$l service=$svc addr=127\.0\.0\.1:[0-9]+"
done

# fetch_to NAME ARGS...: run tclient fetch, output in $tmp/NAME, status line in $tmp/NAME.st.
fetch_to()
{
	local name=$1

	shift
	tclient -T 15 fetch "$@" >"$tmp/$name" 2>"$tmp/$name.st" ||
	    fail "fetch $name failed: $(cat "$tmp/$name.st")"
}

# ---- discard: reads everything, never writes, closes after the client's EOF.
fetch_to discard.out -s -n 1M 127.0.0.1 "$PD" 1000
[ ! -s "$tmp/discard.out" ] || fail "discard wrote $(wc -c <"$tmp/discard.out") bytes"
grep -q 'sent=1048576 received=0 eof=clean' "$tmp/discard.out.st" ||
    fail "discard: $(cat "$tmp/discard.out.st")"
expect_log "close listener=discard .*reason=eof bytes_in=1048576 bytes_out=0"
# Without the client's EOF it stays open.
tclient hold 127.0.0.1 "$PD" 1 >"$tmp/discard.hold" || fail "hold on discard"
grep -q 'held' "$tmp/discard.hold" || fail "discard closed early: $(cat "$tmp/discard.hold")"

# ---- chargen: one 95-line cycle, and a longer prefix against the generator.
fetch_to chargen.cycle 127.0.0.1 "$PC" 7030
[ "$(sha256 "$tmp/chargen.cycle")" = "$CHARGEN_CYCLE_SHA256" ] ||
    fail "chargen: first 7030 bytes differ: $(head -c 148 "$tmp/chargen.cycle" | od -c | head -n 4)"
fetch_to chargen.long 127.0.0.1 "$PC" 200000
chargen_gen 200000 >"$tmp/chargen.ref"
cmp "$tmp/chargen.ref" "$tmp/chargen.long" || fail "chargen: 200000-byte prefix differs"
# The client's input is ignored, the stream is the same.
fetch_to chargen.talk -d 'ignored input
' 127.0.0.1 "$PC" 7030
[ "$(sha256 "$tmp/chargen.talk")" = "$CHARGEN_CYCLE_SHA256" ] ||
    fail "chargen: stream changed by client input"

# ---- daytime, ctime: "Fri Jul 10 22:19:13 2026\r\n", then a clean close.
now_near()
{
	local t now d

	t=$(date -d "$1" +%s 2>/dev/null) || fail "date cannot parse '$1'"
	now=$(date +%s)
	d=$((t - now))
	[ "$d" -ge -2 ] && [ "$d" -le 2 ] || fail "$2: '$1' is $d s away from now"
}
fetch_to daytime.out 127.0.0.1 "$PY" 1000
grep -q 'received=26 eof=clean' "$tmp/daytime.out.st" || fail "daytime: $(cat "$tmp/daytime.out.st")"
line=$(tr -d '\r\n' <"$tmp/daytime.out")
[ "$(tail -c 2 "$tmp/daytime.out" | od -An -tx1 | tr -d ' ')" = "0d0a" ] ||
    fail "daytime: line does not end in CR LF"
echo "$line" | grep -q -E '^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ 1-3][0-9] [0-2][0-9]:[0-5][0-9]:[0-6][0-9] [0-9]{4}$' ||
    fail "daytime: '$line' is not in ctime format"
now_near "$line" daytime
expect_log "close listener=daytime .*bytes_out=26 "

# ---- daytime, RFC 3339.
fetch_to daytime3339.out 127.0.0.1 "$PR" 1000
grep -q 'eof=clean' "$tmp/daytime3339.out.st" || fail "daytime3339: $(cat "$tmp/daytime3339.out.st")"
[ "$(tail -c 2 "$tmp/daytime3339.out" | od -An -tx1 | tr -d ' ')" = "0d0a" ] ||
    fail "daytime3339: line does not end in CR LF"
[ "$(wc -l <"$tmp/daytime3339.out")" -eq 1 ] || fail "daytime3339: more than one line"
line=$(tr -d '\r\n' <"$tmp/daytime3339.out")
echo "$line" | grep -q -E '^[0-9]{4}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9](\.[0-9]+)?(Z|[+-][0-2][0-9]:[0-5][0-9])$' ||
    fail "daytime3339: '$line' is not RFC 3339"
now_near "$line" daytime3339

# ---- time: 4 bytes, big-endian seconds since 1900, then a clean close.
time_check()
{
	local v now d

	[ "$(wc -c <"$1")" -eq 4 ] || fail "time: $(wc -c <"$1") bytes, expected 4"
	v=$(od -An -tu1 "$1" | awk '{ printf "%.0f", (($1 * 256 + $2) * 256 + $3) * 256 + $4 }')
	now=$((($(date +%s) + 2208988800) % 4294967296))
	d=$((v - now))
	[ "$d" -ge -2 ] && [ "$d" -le 2 ] || fail "time: $v is $d s away from $now"
}
fetch_to time.out 127.0.0.1 "$PT" 1000
grep -q 'received=4 eof=clean' "$tmp/time.out.st" || fail "time: $(cat "$tmp/time.out.st")"
time_check "$tmp/time.out"

# ---- answer-and-close services keep their reply when the client talked first:
# a line, then 64 KiB the server must drain, with and without the client's EOF,
# reading at once or only after the server has acted (a server that closed
# with unread input would have sent a reset instead of the FIN).
for args in "-d hello" "-n 64K" "-s -n 64K" "-w 300 -d hello" "-w 300 -n 64K"; do
	fetch_to daytime.talk $args 127.0.0.1 "$PY" 1000
	grep -q 'received=26 eof=clean' "$tmp/daytime.talk.st" ||
	    fail "daytime after client data ($args): $(cat "$tmp/daytime.talk.st")"
	tr -d '\r\n' <"$tmp/daytime.talk" | grep -q -E '^[A-Z][a-z]{2} [A-Z][a-z]{2} [ 1-3][0-9] ' ||
	    fail "daytime after client data ($args): bad line"
	fetch_to time.talk $args 127.0.0.1 "$PT" 1000
	grep -q 'received=4 eof=clean' "$tmp/time.talk.st" ||
	    fail "time after client data ($args): $(cat "$tmp/time.talk.st")"
	time_check "$tmp/time.talk"
done

no_log ' (error|critical) '
stop_echod
note ok

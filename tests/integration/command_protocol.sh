# command_protocol.sh: the command service through nc: every command with
# valid and invalid input, case, CRLF, long lines (the connection stays
# usable), telnet IAC sequences, Ctrl-C (IAC IP) and Ctrl-D closing politely,
# QUIT, and half-close (everything sent before EOF is answered).
. "$(dirname "$0")/lib.sh"

have_openbsd_nc ||
    skip "OpenBSD nc (with -N) not installed"

cat >"$tmp/echod.ini" <<INI
[server]
shutdown_timeout = 5s
workers = 2
max_line = 64
max_sleep = 1s

[log]
level = info

[listener cmd]
bind = 127.0.0.1:0
service = command
INI
start_echod "$tmp/echod.ini"
P=$(port_of cmd) || fail "no listening line for the command listener"

# expect NAME EXPECTED: replies equal EXPECTED (a multi-line string).
expect()
{
	printf '%s\n' "$2" >"$tmp/$1.exp"
	diff -u "$tmp/$1.exp" "$tmp/$1.out" >&2 || fail "$1: unexpected replies"
}

# Every line of a reply ends in CRLF.
printf 'PING\n' >"$tmp/crlf.in"
talk crlf
[ "$(od -An -c "$tmp/crlf.raw" | tr -d ' \n')" = '+OKPONG\r\n' ] ||
    fail "PING reply is not '+OK PONG' CRLF: $(od -An -c "$tmp/crlf.raw")"

# Simple commands, case-insensitive, LF and CRLF, blank lines ignored.
printf 'PING\r\nping\n\n   \r\nPiNg\nECHO hello world\r\necho  two  spaces\nECHO\n' >"$tmp/simple.in"
talk simple
expect simple "+OK PONG
+OK PONG
+OK PONG
+OK hello world
+OK  two  spaces
+OK"

# HELP: "+OK <n> lines" and exactly n lines.
printf 'HELP\nPING\n' >"$tmp/help.in"
talk help
n=$(sed -n '1s/^+OK \([0-9][0-9]*\) lines$/\1/p' "$tmp/help.out")
[ -n "$n" ] || fail "HELP: bad first line: $(head -n 1 "$tmp/help.out")"
[ "$(wc -l <"$tmp/help.out")" -eq $((n + 2)) ] || fail "HELP: expected $n lines then PONG"
[ "$(sed -n "$((n + 2))p" "$tmp/help.out")" = "+OK PONG" ] || fail "HELP: PONG not after the list"
for c in HELP QUIT PING ECHO TIME RESOLVE DIGEST SLEEP; do
	grep -q "^$c" "$tmp/help.out" || fail "HELP does not list $c"
done

# TIME: RFC 3339 UTC, close to our clock.
printf 'TIME\ntime now\n' >"$tmp/time.in"
talk time
t=$(sed -n '1s/^+OK \([0-9-]*T[0-9:]*Z\)$/\1/p' "$tmp/time.out")
[ -n "$t" ] || fail "TIME: bad reply: $(head -n 1 "$tmp/time.out")"
d=$(( $(date -u +%s) - $(date -u -d "$t" +%s) ))
[ "$d" -ge -5 ] && [ "$d" -le 5 ] || fail "TIME: $t is $d s away from now"
[ "$(sed -n 2p "$tmp/time.out")" = "-ERR usage: TIME" ] || fail "TIME with an argument accepted"

# DIGEST: all four algorithms against coreutils, and the errors.
printf 'DIGEST sha256 abc\ndigest SHA512 abc\nDIGEST sha1 hello world\nDIGEST md5 abc\nDIGEST sha3 abc\nDIGEST sha256\nDIGEST\n' >"$tmp/digest.in"
talk digest
expect digest "+OK $(printf abc | sha256sum | cut -d' ' -f1)
+OK $(printf abc | sha512sum | cut -d' ' -f1)
+OK $(printf 'hello world' | sha1sum | cut -d' ' -f1)
+OK $(printf abc | md5sum | cut -d' ' -f1)
-ERR unknown digest, expected sha256, sha512, sha1 or md5
-ERR usage: DIGEST <sha256|sha512|sha1|md5> <text>
-ERR usage: DIGEST <sha256|sha512|sha1|md5> <text>"

# RESOLVE: only names that never leave the machine (numeric, /etc/hosts).
printf 'RESOLVE 127.0.0.1\nRESOLVE 127.0.0.1 V4\nRESOLVE localhost v4\nRESOLVE\nRESOLVE a v5\nRESOLVE bad/name\nRESOLVE 127.0.0.1 v6\nPING\n' >"$tmp/resolve.in"
talk resolve
expect resolve "+OK 1 lines
127.0.0.1
+OK 1 lines
127.0.0.1
+OK 1 lines
127.0.0.1
-ERR usage: RESOLVE <host> [v4|v6]
-ERR address family must be v4 or v6
-ERR bad host name
$(sed -n 10p "$tmp/resolve.out")
+OK PONG"
sed -n 10p "$tmp/resolve.out" | grep -q '^-ERR cannot resolve 127.0.0.1: ' ||
    fail "RESOLVE 127.0.0.1 v6: $(sed -n 10p "$tmp/resolve.out")"
if have_ipv6; then
	printf 'RESOLVE ::1 v6\n' >"$tmp/resolve6.in"
	talk resolve6
	expect resolve6 "+OK 1 lines
::1"
fi

# SLEEP: within max_sleep (1s here), and the errors.
printf 'SLEEP 0\nsleep 50\nSLEEP 1000\nSLEEP 1001\nSLEEP -1\nSLEEP 1s\nSLEEP\nSLEEP 1 2\nSLEEP 99999999999999999999999\n' >"$tmp/sleep.in"
talk sleep
expect sleep "+OK slept 0 ms
+OK slept 50 ms
+OK slept 1000 ms
-ERR ms must be a number from 0 to 1000
-ERR ms must be a number from 0 to 1000
-ERR ms must be a number from 0 to 1000
-ERR usage: SLEEP <ms>
-ERR usage: SLEEP <ms>
-ERR ms must be a number from 0 to 1000"

# Unknown commands and bad arguments: -ERR, the connection stays open.
printf 'FOO\nPING extra\nQUITX\nPING\n' >"$tmp/unknown.in"
talk unknown
expect unknown "-ERR unknown command 'FOO', try HELP
-ERR usage: PING
-ERR unknown command 'QUITX', try HELP
+OK PONG"

# Long lines: max_line (64) is fine, 65 gets an error, the next line works.
l64=$(printf '%064d' 0)
l65=$(printf '%065d' 0)
big=$(head -c 100000 /dev/zero | tr '\0' 'x')
printf 'ECHO %s\n%s\nPING\n%s\r\nECHO ok\n' "${l64#?????}" "$l65" "$big" >"$tmp/long.in"
talk long
expect long "+OK ${l64#?????}
-ERR line too long
+OK PONG
-ERR line too long
+OK ok"

# Telnet: option negotiation, subnegotiation, IAC IAC, erase char are consumed.
printf 'PI\377\373\001NG\r\n\377\372\030\000xterm\377\360PING\r\nECHO a\377\377b\r\nPINGG\377\367\r\n' >"$tmp/telnet.in"
talk telnet
expect telnet "+OK PONG
+OK PONG
+OK a$(printf '\377')b
+OK PONG"

# QUIT answers what came before, says goodbye, ignores the rest.
printf 'SLEEP 100\nPING\nQUIT\nPING\nECHO never\n' >"$tmp/quit.in"
talk quit
expect quit "+OK slept 100 ms
+OK PONG
+OK bye"

# Ctrl-C (IAC IP, then telnet's DO TIMING-MARK) and Ctrl-D on an empty line
# close the connection from our side: nc without -N keeps reading after its
# input ends, until the server closes.
for name in ctrlc ctrld; do
	case $name in
	ctrlc) printf 'PING\r\nSLEE\377\364\377\375\006' >"$tmp/$name.in" ;;
	ctrld) printf 'PING\r\n\004' >"$tmp/$name.in" ;;
	esac
	timeout 5 nc 127.0.0.1 "$P" <"$tmp/$name.in" >"$tmp/$name.raw" 2>/dev/null ||
	    fail "$name: the server did not close the connection"
	tr -d '\r' <"$tmp/$name.raw" >"$tmp/$name.out"
	expect "$name" "+OK PONG
+OK bye"
done

# Half-close: a final line without a line ending is still a command.
printf 'SLEEP 200\nPING' >"$tmp/half.in"
talk half
expect half "+OK slept 200 ms
+OK PONG"

no_log 'fatal|critical'
stop_echod

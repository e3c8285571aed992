# udp_lib.sh: helpers of the UDP integration tests (udp_*.sh), sourced after lib.sh.
#   udp HOST PORT ARGS...   tests/integration/udpc.py send: one line per reply, then replies=N
#   udp_replies OUTPUT      the N of replies=N
#   udp_field OUTPUT KEY    KEY=value of the first reply line (len, from, hex, sha256)
#   stat NAME               a STATS line's value from the admin console ($ADMIN_SOCK), 0 if none
#   chargen_hex N           the first N bytes of the chargen pattern, in hex
#   admin_ini               an admin listener section on $ADMIN_SOCK, for the test's ini

UDPC=$top_srcdir/tests/integration/udpc.py
have_cmd python3 || skip "python3 not installed"
# The interpreter itself: a version-manager shim in PATH can cost seconds per run.
PYTHON=$(python3 -c 'import sys; print(sys.executable)') || fail "python3 does not run"
ADMIN_SOCK=$tmp/admin.sock

udp()
{
	"$PYTHON" "$UDPC" send "$@"
}

udp_replies()
{
	echo "$1" | sed -n 's/^replies=//p'
}

udp_field()
{
	echo "$1" | grep '^reply ' | head -n 1 | tr ' ' '\n' | sed -n "s/^$2=//p"
}

stat()
{
	local v

	v=$(echo "STATS ${1%%\{*}" | nc -N -U "$ADMIN_SOCK" | grep -F "$1=" | head -n 1)
	echo "${v##*=}" | tr -d '\r' | sed 's/^$/0/'
}

chargen_hex()
{
	"$PYTHON" -c '
import sys
s = b"".join(bytes(32 + (l + i) % 95 for i in range(72)) + b"\r\n" for l in range(95))
print(s[:int(sys.argv[1])].hex())' "$1"
}

admin_ini()
{
	printf '[listener admin]\nbind = unix:%s\nservice = admin\n' "$ADMIN_SOCK"
}

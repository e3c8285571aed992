# fault_startup.sh: a call that fails while echod starts makes it exit 1
# with a message naming the call that failed:
# a listening socket (socket), the worker pool's wake-up
# descriptor (eventfd) and its threads (pthread_create), a TLS context
# (SSL_CTX_new). The faults come from tests/fault/libechod_fault.so,
# preloaded into the real daemon.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tls_certs.sh"

[ -r "${FAULT_LIB:-}" ] || skip "the fault library is not built (make check builds it)"
case "${SANITIZER:-}" in
asan) export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" ;;
tsan) skip "the preloaded fault library and TSan's interceptors do not mix" ;;
esac

have_cmd openssl || skip "openssl command line tool not installed"
tls_certs "$tmp"
cat >"$tmp/echod.ini" <<INI
[server]
workers = 2
[listener echo]
bind = 127.0.0.1:0
service = echo
[listener tls]
bind = 127.0.0.1:0
service = echo
tls = yes
tls_cert = $tmp/server.pem
tls_key = $tmp/server.key
INI

# start_fault RULES: run echod with the rules; its exit status in RC, its output in OUT.
start_fault()
{
	LD_PRELOAD=$FAULT_LIB ECHOD_FAULTS=$1 timeout 20 "$ECHOD" -f -c "$tmp/echod.ini" \
	    </dev/null >"$tmp/out" 2>&1
	RC=$?
	OUT=$(cat "$tmp/out")
}

# expect_fail RULES PATTERN: exit status 1 and a message matching PATTERN.
expect_fail()
{
	start_fault "$1"
	[ "$RC" -eq 1 ] || fail "with $1: exit $RC, expected 1: $OUT"
	echo "$OUT" | grep -q -E -- "$2" || fail "with $1: no message matching '$2': $OUT"
	echo "$OUT" | grep -q -E "$SANITIZER_PATTERN" && fail "with $1: sanitizer report: $OUT"
	note "$1 -> $(echo "$OUT" | grep -E -- "$2" | head -n 1)"
}

expect_fail 'socket=EMFILE' 'cannot start: .*socket.*Too many open files'
expect_fail 'eventfd=EMFILE' 'worker pool.*eventfd.*Too many open files'
expect_fail 'pthread_create=EAGAIN,count=1' 'pthread_create: Resource temporarily unavailable'
# the log thread is the last one started: every worker first, then it fails
expect_fail 'pthread_create=EAGAIN,after=2' 'cannot start the log thread: pthread_create: Resource temporarily unavailable'
expect_fail 'SSL_CTX_new=NULL' 'listener tls: SSL_CTX_new failed'

# Without a fault the same configuration starts (the library alone changes nothing).
LD_PRELOAD=$FAULT_LIB ECHOD_FAULTS= "$ECHOD" -t -c "$tmp/echod.ini" >"$tmp/t.out" 2>&1 ||
    fail "-t under the fault library without rules: $(cat "$tmp/t.out")"
note ok

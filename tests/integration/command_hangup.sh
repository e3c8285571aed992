# command_hangup.sh: clients that hang up free their job slots at once, and
# no single client can take the shared job queue.
#
# 1. 18 clients fill a 2-worker pool with a 16-job queue (a 19th is told
#    busy), shut their write side as `nc -N` does, then abort (a reset). The
#    daemon was not reading them (half-closed), yet it sees the resets: SLEEP 1
#    from another client succeeds within 1 s.
# 2. The same with 18 clients on a unix socket that just close(): a unix peer
#    that closes is told apart from one that half-closes.
# 3. One client pipelines 2000 SLEEPs and reads nothing: it holds only its
#    share of the pool (job_queue_max / 4 = 4 jobs queued or running, seen in
#    the admin console's JOBS), and another client's SLEEP is queued behind
#    those few, never told "busy" and never made to wait for the whole queue.
# Debug mode is on: a job cancelled because its client left is not reported
# as an error never retrieved.
. "$(dirname "$0")/lib.sh"

have_cmd perl || skip "perl not installed"
have_cmd nc && nc -h 2>&1 | grep -q -E -- '-N[[:space:]]+Shutdown' ||
    skip "OpenBSD nc (with -N) not installed"

SOCK=$tmp/cmd.sock
cat >"$tmp/echod.ini" <<INI
[server]
shutdown_timeout = 5s
workers = 2
job_queue_max = 16

[log]
level = info

[debug]
enabled = yes

[listener cmd]
bind = 127.0.0.1:0
service = command

[listener cmdu]
bind = unix:$SOCK
service = command

[listener admin]
bind = unix:$tmp/admin.sock
service = admin
unix_mode = 0600
INI
start_echod "$tmp/echod.ini"
P=$(port_of cmd) || fail "no listening line for the command listener"

# DIAL: the perl both clients below start with; dial(TARGET) connects to
# 127.0.0.1 port TARGET, or to the unix socket path TARGET.
DIAL='
	sub dial {
		my ($target) = @_;
		my $s;
		if ($target =~ m{^/}) {
			socket($s, PF_UNIX, SOCK_STREAM, 0) or die "socket: $!";
			connect($s, sockaddr_un($target)) or die "connect: $!";
		} else {
			socket($s, PF_INET, SOCK_STREAM, 0) or die "socket: $!";
			connect($s, sockaddr_in($target, inet_aton("127.0.0.1"))) or die "connect: $!";
		}
		return $s;
	}
'

# holder ID TARGET MODE CMD: connect (TARGET is a port or a unix socket path),
# send CMD, then, once $tmp/go exists, hang up: MODE "reset" shuts the write
# side first (as nc -N does) and then resets; MODE "close" just closes.
# Writes $tmp/held.ID once the command is sent.
holder()
{
	perl -MSocket -e "$DIAL"'
		my ($id, $target, $mode, $cmd, $dir) = @ARGV;
		my $s = dial($target);
		syswrite($s, "$cmd\n") or die "write: $!";
		shutdown($s, 1) if $mode eq "reset";
		open(my $f, ">", "$dir/held.$id") or die; close($f);
		for (my $i = 0; $i < 1500 && ! -e "$dir/go"; $i++) {
			select(undef, undef, undef, 0.02);
		}
		setsockopt($s, SOL_SOCKET, SO_LINGER, pack("ii", 1, 0)) if $mode eq "reset";
		close($s);
	' "$1" "$2" "$3" "$4" "$tmp"
}

# asker TARGET: a client connected beforehand (so no process start-up is
# timed) that, once $tmp/go exists, sends SLEEP 1 until it is answered
# "+OK" (each "-ERR busy" is retried after 20 ms); prints how many ms after
# "go" that was, or "never" after 5 s.
asker()
{
	perl -MSocket -MTime::HiRes=time,sleep -e "$DIAL"'
		my ($target, $dir) = @ARGV;
		my $s = dial($target);
		open(my $f, ">", "$dir/asker.ready") or die; close($f);
		for (my $i = 0; $i < 3000 && ! -e "$dir/go"; $i++) {
			sleep(0.005);
		}
		my $t0 = time;
		while (time - $t0 < 5) {
			syswrite($s, "SLEEP 1\n") or die "write: $!";
			my $line = "";
			while ($line !~ /\n/) {
				my $n = sysread($s, my $buf, 1);
				die "closed" unless $n;
				$line .= $buf;
			}
			if ($line =~ /^\+OK slept 1 ms/) {
				printf "%d\n", (time - $t0) * 1000;
				exit 0;
			}
			sleep(0.02);
		}
		print "never\n";
	' "$1" "$tmp"
}

# ask TARGET CMD: one request on a new connection, the reply without CR.
ask()
{
	case $1 in
	/*) printf '%s\n' "$2" | timeout 10 nc -N -U "$1" | tr -d '\r' ;;
	*) printf '%s\n' "$2" | timeout 10 nc -N 127.0.0.1 "$1" | tr -d '\r' ;;
	esac
}

# hangup_round NAME TARGET MODE: 18 holders fill the pool, hang up, and
# SLEEP 1 must then succeed within 1 s.
hangup_round()
{
	local name=$1 target=$2 mode=$3 i pids ms

	rm -f "$tmp"/held.* "$tmp/go" "$tmp/asker.ready"
	pids=
	i=0
	while [ "$i" -lt 18 ]; do
		spawn holder "$i" "$target" "$mode" "SLEEP 10000" 2>"$tmp/holder.$i.err"
		pids="$pids $SPAWN_PID"
		i=$((i + 1))
	done
	wait_until 10 '[ "$(ls "$tmp" | grep -c "^held\.")" -ge 18 ]' ||
	    fail "$name: the 18 clients did not connect"
	# Every slot taken: a 19th client is told busy (the jobs are submitted
	# when their line is read, so allow a moment).
	wait_until 2 '[ "$(ask "$target" "SLEEP 1")" = "-ERR busy" ]' ||
	    fail "$name: the pool never filled up"
	spawn asker "$target" >"$tmp/asker.out" 2>"$tmp/asker.err"
	ASKER=$SPAWN_PID
	wait_until 10 '[ -e "$tmp/asker.ready" ]' || fail "$name: the asking client did not connect"
	touch "$tmp/go"
	for p in $pids; do
		wait_exit "$p" 10 || fail "$name: a client did not hang up"
	done
	wait_exit "$ASKER" 10 || fail "$name: the asking client is still running"
	ms=$(cat "$tmp/asker.out")
	note "$name: SLEEP 1 answered $ms ms after 18 clients hung up"
	[ "$ms" != never ] || fail "$name: SLEEP 1 never answered in 5 s after the hang-ups"
	[ -n "$ms" ] && [ "$ms" -lt 1000 ] ||
	    fail "$name: SLEEP 1 answered only after '$ms' ms: $(cat "$tmp/asker.err")"
}

# 1 and 2.
hangup_round "tcp half-close then reset" "$P" reset
hangup_round "unix close" "$SOCK" close

# 3. One client pipelines 2000 SLEEPs and does not read.
i=0
while [ "$i" -lt 2000 ]; do
	echo "SLEEP 500"
	i=$((i + 1))
done >"$tmp/pipeline.in"
spawn perl -MSocket -e '
	my ($port, $file, $dir) = @ARGV;
	socket(my $s, PF_INET, SOCK_STREAM, 0) or die "socket: $!";
	connect($s, sockaddr_in($port, inet_aton("127.0.0.1"))) or die "connect: $!";
	open(my $f, "<", $file) or die; local $/; my $all = <$f>; close($f);
	my $off = 0;
	while ($off < length($all)) {
		my $n = syswrite($s, $all, length($all) - $off, $off);
		die "write: $!" unless defined $n;
		$off += $n;
	}
	open(my $m, ">", "$dir/piped") or die; close($m);
	sleep 30;
' "$P" "$tmp/pipeline.in" "$tmp" 2>"$tmp/pipeline.err"
PIPER=$SPAWN_PID
wait_until 10 '[ -e "$tmp/piped" ]' || fail "the pipelining client did not send its 2000 lines"
# Its jobs in flight, sampled: never more than its share.
most=0
i=0
while [ "$i" -lt 10 ]; do
	n=$(echo JOBS | timeout 5 nc -N -U "$tmp/admin.sock" | grep -c -E 'state=(queued|running)')
	[ "$n" -gt "$most" ] && most=$n
	sleep 0.1
	i=$((i + 1))
done
note "a client pipelining 2000 SLEEPs had at most $most jobs queued or running"
[ "$most" -ge 1 ] || fail "the pipelining client has no job in flight"
[ "$most" -le 4 ] || fail "one client holds $most jobs of a 16-job queue (its share is 4)"
# Another client: queued behind at most the few jobs of that share (2 running,
# 2 queued: about 1 s), not behind a queue full of them (about 4 s).
i=0
while [ "$i" -lt 3 ]; do
	t0=$(date +%s%N)
	reply=$(ask "$P" "SLEEP 1")
	t1=$(date +%s%N)
	ms=$(( (t1 - t0) / 1000000 ))
	note "beside a client pipelining 2000 SLEEPs: SLEEP 1 answered '$reply' in $ms ms"
	[ "$reply" = "+OK slept 1 ms" ] ||
	    fail "with one client pipelining 2000 SLEEPs, another got '$reply'"
	[ "$ms" -lt 2500 ] || fail "SLEEP 1 waited $ms ms behind one client's pipeline"
	i=$((i + 1))
done
kill -KILL "$PIPER"
{ wait_exit "$PIPER" 5; } 2>/dev/null || fail "the pipelining client is still running"

no_log 'job error never retrieved'
no_log 'fatal|critical'
stop_echod 20
note ok

#!/usr/bin/env python3
# mbclient.py: the timing client of the misbehaviour tests (misbehave_*.sh).
# It records when each piece of output arrives (to the millisecond) and how
# the connection ends (EOF, reset, or silence), and verifies every byte
# against what it sent: nothing lost, duplicated or reordered. Plain TCP or
# TLS (--tls CAFILE). Every wait is bounded. Python 3 standard library only.
#
#   chunks [--send N] [--seed S] [--quiet-s SEC] [--deadline-s SEC] HOST PORT
#       send N seeded random bytes at once, then read; one line per recv:
#       "chunk t_ms=T len=L" (T since the send), then a summary:
#       "result end=eof|reset|silence end_ms=E conn_end_ms=C bytes=B
#        match=yes|no chunks=K max_chunk=M first_ms=F last_ms=L min_gap_ms=G"
#       (E: when reading ended, since the send; C: the same since the
#       connect began; for silence, the last chunk plus --quiet-s). Times are
#       read before the send and the connect, so they are never too short.
#       silence: nothing for --quiet-s seconds (the connection is left open
#       that long, then closed by the client).
#   rtt [--count N] [--size S] [--admin SOCK] [--then "CMD"]... HOST PORT
#       round trips on one connection: "phase=P rtt_ms=a,b,..." per phase;
#       before each later phase the admin console runs CMD (its reply is
#       printed as "admin: ...").
#   pattern [--count N] [--threshold-ms T] HOST PORT
#       N connections one after another, one round trip each: prints a
#       string of 1 (round trip >= T ms: the connection misbehaved) and 0.
import argparse
import random
import socket
import ssl
import sys
import time


def die(msg):
    print("mbclient: " + msg, file=sys.stderr)
    sys.exit(1)


def connect(args, host, port):
    s = socket.create_connection((host, int(port)), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if args.tls:
        ctx = ssl.create_default_context(cafile=args.tls)
        ctx.check_hostname = False
        s = ctx.wrap_socket(s, server_hostname="localhost", suppress_ragged_eofs=False)
    return s


def now_ms():
    return time.monotonic() * 1000.0


def admin(path, cmd):
    a = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    a.settimeout(10)
    a.connect(path)
    a.sendall((cmd + "\n").encode())
    buf = b""
    while True:
        d = a.recv(65536)
        if not d:
            break
        buf += d
        last = buf.rstrip(b"\r\n").split(b"\n")[-1]
        if last.startswith(b"+OK") or last.startswith(b"-ERR"):
            break
    a.close()
    text = buf.decode(errors="replace")
    for line in text.splitlines():
        print("admin: " + line)
    if "-ERR" in text:
        die("admin command failed: " + cmd)


def roundtrip(s, msg, deadline_s=10.0):
    t0 = now_ms()
    s.sendall(msg)
    got = b""
    s.settimeout(deadline_s)
    while len(got) < len(msg):
        d = s.recv(65536)
        if not d:
            die("connection closed after %d of %d bytes" % (len(got), len(msg)))
        got += d
    if got != msg:
        die("echo differs from what was sent")
    return now_ms() - t0


def cmd_chunks(args):
    data = random.Random(args.seed).randbytes(args.send)
    # clocks read before acting: a client preempted after would time too short
    tc = now_ms()
    s = connect(args, args.host, args.port)
    t0 = now_ms()
    s.sendall(data)
    got = bytearray()
    chunks = []
    end = "eof"
    stop = t0 + args.deadline_s * 1000.0
    while True:
        left = min(args.quiet_s, (stop - now_ms()) / 1000.0)
        if left <= 0:
            end = "deadline"
            break
        s.settimeout(left)
        try:
            d = s.recv(1 << 20)
        except socket.timeout:
            end = "silence" if left >= args.quiet_s else "deadline"
            break
        except ConnectionResetError:
            end = "reset"
            break
        except ssl.SSLError as e:
            end = "tls-error:" + e.__class__.__name__
            break
        if not d:
            break
        chunks.append((now_ms() - t0, len(d)))
        got += d
    end = (end, now_ms() - t0, now_ms() - tc)
    s.close()
    for t, n in chunks:
        print("chunk t_ms=%.1f len=%d" % (t, n))
    gaps = [b[0] - a[0] for a, b in zip(chunks, chunks[1:])]
    match = "yes" if bytes(got) == data[:len(got)] else "no"
    print("result end=%s end_ms=%.1f conn_end_ms=%.1f bytes=%d match=%s chunks=%d "
          "max_chunk=%d first_ms=%.1f last_ms=%.1f min_gap_ms=%.1f"
          % (end[0], end[1], end[2], len(got), match, len(chunks),
             max([n for _, n in chunks], default=0), chunks[0][0] if chunks else -1,
             chunks[-1][0] if chunks else -1, min(gaps, default=-1)))


def cmd_rtt(args):
    s = connect(args, args.host, args.port)
    rng = random.Random(7)
    phases = [None] + args.then
    for p, cmd in enumerate(phases):
        if cmd is not None:
            admin(args.admin, cmd)
        rtts = [roundtrip(s, rng.randbytes(args.size)) for _ in range(args.count)]
        print("phase=%d rtt_ms=%s" % (p, ",".join("%.1f" % r for r in rtts)))
    s.close()


def cmd_pattern(args):
    out = []
    rng = random.Random(11)
    for _ in range(args.count):
        s = connect(args, args.host, args.port)
        out.append("1" if roundtrip(s, rng.randbytes(16)) >= args.threshold_ms else "0")
        s.close()
    print("".join(out))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tls", metavar="CAFILE")
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("chunks")
    c.add_argument("--send", type=int, default=1000)
    c.add_argument("--seed", type=int, default=1)
    c.add_argument("--quiet-s", type=float, default=2.0)
    c.add_argument("--deadline-s", type=float, default=20.0)
    r = sub.add_parser("rtt")
    r.add_argument("--count", type=int, default=5)
    r.add_argument("--size", type=int, default=32)
    r.add_argument("--admin")
    r.add_argument("--then", action="append", default=[])
    p = sub.add_parser("pattern")
    p.add_argument("--count", type=int, default=20)
    p.add_argument("--threshold-ms", type=float, default=50.0)
    for x in (c, r, p):
        x.add_argument("host")
        x.add_argument("port")
    args = ap.parse_args()
    {"chunks": cmd_chunks, "rtt": cmd_rtt, "pattern": cmd_pattern}[args.cmd](args)


if __name__ == "__main__":
    main()

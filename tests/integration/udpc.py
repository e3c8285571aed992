#!/usr/bin/env python3
"""udpc.py: a UDP client for the integration tests (exact datagrams in, replies out).

  udpc.py send HOST PORT [--data TEXT | --size N | --hex HEX] [--count N]
                         [--from ADDR[:PORT]] [--timeout S] [--broadcast]
      Sends COUNT datagrams (default 1) from one socket, then prints one line
      per reply until COUNT replies came, or (with --all, or fewer) until
      TIMEOUT seconds (default 1) pass without one:
          reply len=N from=ADDR:PORT sha256=HEX hex=HEX
      (hex= only for replies of at most 1024 bytes), then "replies=K".
      --size N sends N bytes of 'x'. Exit 0 unless sending failed.
  udpc.py refused HOST PORT
      Exit 0 if a connected socket gets ECONNREFUSED (nothing bound there).
  udpc.py port [-6 | --tcp-too]
      Prints a UDP port free on 127.0.0.1 (or ::1); with --tcp-too, one free
      for TCP on 127.0.0.1 as well.
  udpc.py zeroport HOST PORT
      Sends one datagram from source port 0 (a raw socket: root only);
      exit 77 when raw sockets are not allowed.
"""
import hashlib
import socket
import struct
import sys
import time


def family_of(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def parse_from(spec, fam):
    if fam == socket.AF_INET6:
        if spec.startswith("["):
            host, _, port = spec[1:].partition("]:")
            return (host, int(port or 0))
        return (spec, 0)
    host, _, port = spec.partition(":")
    return (host, int(port or 0))


def cmd_send(args):
    host, port = args[0], int(args[1])
    data, count, src, timeout, bcast, wait_all = b"x", 1, None, 1.0, False, False
    i = 2
    while i < len(args):
        a = args[i]
        if a == "--data":
            data = args[i + 1].encode(); i += 2
        elif a == "--size":
            data = b"x" * int(args[i + 1]); i += 2
        elif a == "--hex":
            data = bytes.fromhex(args[i + 1]); i += 2
        elif a == "--count":
            count = int(args[i + 1]); i += 2
        elif a == "--from":
            src = args[i + 1]; i += 2
        elif a == "--timeout":
            timeout = float(args[i + 1]); i += 2
        elif a == "--broadcast":
            bcast = True; i += 1
        elif a == "--all":
            wait_all = True; i += 1
        else:
            print("udpc.py: unknown option " + a, file=sys.stderr)
            return 2
    fam = family_of(host)
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    if bcast:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    if src is not None:
        s.bind(parse_from(src, fam))
    for _ in range(count):
        s.sendto(data, (host, port))
    s.settimeout(timeout)
    n = 0
    while wait_all or n < count:
        try:
            r, frm = s.recvfrom(70000)
        except socket.timeout:
            break
        except ConnectionRefusedError:
            continue
        n += 1
        where = ("[%s]:%d" % frm[:2]) if fam == socket.AF_INET6 else ("%s:%d" % frm)
        line = "reply len=%d from=%s sha256=%s" % (len(r), where, hashlib.sha256(r).hexdigest())
        if len(r) <= 1024:
            line += " hex=" + r.hex()
        print(line, flush=True)
    print("replies=%d" % n, flush=True)
    return 0


def cmd_refused(args):
    host, port = args[0], int(args[1])
    s = socket.socket(family_of(host), socket.SOCK_DGRAM)
    s.connect((host, port))
    s.settimeout(1.0)
    for _ in range(3):
        try:
            s.send(b"anyone?")
            s.recv(100)
            return 1
        except ConnectionRefusedError:
            return 0
        except socket.timeout:
            continue
    return 1


def cmd_port(args):
    fam = socket.AF_INET6 if args and args[0] == "-6" else socket.AF_INET
    for _ in range(100):
        s = socket.socket(fam, socket.SOCK_DGRAM)
        s.bind(("::1" if fam == socket.AF_INET6 else "127.0.0.1", 0))
        port = s.getsockname()[1]
        if args and args[0] == "--tcp-too":
            t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                t.bind(("127.0.0.1", port))
            except OSError:
                continue
            finally:
                t.close()
        print(port)
        return 0
    return 1


def cmd_zeroport(args):
    host, port = args[0], int(args[1])
    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
    except PermissionError:
        return 77
    payload = b"from port zero"
    # UDP header: source port 0, checksum 0 (none, allowed over IPv4)
    hdr = struct.pack("!HHHH", 0, port, 8 + len(payload), 0)
    s.sendto(hdr + payload, (host, 0))
    time.sleep(0.05)
    return 0


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, args = sys.argv[1], sys.argv[2:]
    return {"send": cmd_send, "refused": cmd_refused, "port": cmd_port,
            "zeroport": cmd_zeroport}[cmd](args)


if __name__ == "__main__":
    sys.exit(main())

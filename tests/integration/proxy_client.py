#!/usr/bin/env python3
# proxy_client.py: a test client that speaks first with a PROXY protocol
# header (HAProxy's doc/proxy-protocol.txt), crafted here with struct.pack,
# then optionally runs a TLS handshake on the same socket (python's ssl
# module: openssl s_client and socat cannot send a header before TLS), sends
# DATA and copies what comes back to stdout.
#
# The header is one of
#   --v1 'TCP4 192.0.2.1 198.51.100.7 56324 443'   "PROXY " + this + CRLF
#   --v2 proxy|local [--src A:P --dst A:P] [--tlv TYPE:HEX ...] [--alpn X]
#        [--authority X] [--unique-id X] [--ssl-version X --ssl-cn X] [--crc]
#        [--fam N] [--ver N] [--cmd N] [--len N] [--tlv-raw HEX]   (malformations)
#   --raw HEX                                     any bytes at all
# sent in --pieces N parts --gap MS apart (a dribbled header), or only its
# first --cut N bytes, optionally followed by a shutdown (--shut), or in two
# parts --split N bytes and --split-wait S seconds apart. Everything
# is bounded by --timeout. Exit status: 0 when the server answered, or
# closed at once with --expect-close; 1 otherwise; 2 usage.
import argparse
import ipaddress
import socket
import ssl
import struct
import sys
import time

V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def split_hostport(s):
    host, _, port = s.rpartition(":")
    return ipaddress.ip_address(host.strip("[]")), int(port)


def tlv(t, value):
    return struct.pack("!BH", t, len(value)) + value


def v2_header(a):
    cmd = 0x0 if a.v2 == "local" else 0x1
    if a.cmd is not None:
        cmd = a.cmd
    ver = 2 if a.ver is None else a.ver
    addr = b""
    fam = 0x00
    if a.src and a.dst:
        (sip, sport), (dip, dport) = split_hostport(a.src), split_hostport(a.dst)
        if sip.version == 4:
            fam = 0x11
            addr = sip.packed + dip.packed + struct.pack("!HH", sport, dport)
        else:
            fam = 0x21
            addr = sip.packed + dip.packed + struct.pack("!HH", sport, dport)
    if a.fam is not None:
        fam = a.fam
    tlvs = b""
    if a.alpn:
        tlvs += tlv(0x01, a.alpn.encode())
    if a.authority:
        tlvs += tlv(0x02, a.authority.encode())
    if a.unique_id:
        tlvs += tlv(0x05, a.unique_id.encode())
    if a.ssl_version or a.ssl_cn:
        sub = b""
        if a.ssl_version:
            sub += tlv(0x21, a.ssl_version.encode())
        if a.ssl_cn:
            sub += tlv(0x22, a.ssl_cn.encode())
        # client: SSL | CERT_CONN, verify 0 (verified)
        tlvs += tlv(0x20, struct.pack("!BI", 0x03, 0) + sub)
    for t in a.tlv:
        typ, _, hexval = t.partition(":")
        tlvs += tlv(int(typ, 0), bytes.fromhex(hexval))
    if a.tlv_raw:
        tlvs += bytes.fromhex(a.tlv_raw)
    if a.crc:
        tlvs += tlv(0x03, b"\x00\x00\x00\x00")
    body = addr + tlvs
    length = len(body) if a.len is None else a.len
    hdr = V2_SIG + struct.pack("!BBH", (ver << 4) | cmd, fam, length) + body
    if a.crc:
        # the checksum covers the whole header with the CRC field zeroed
        value = struct.pack("!I", crc32c(hdr))
        hdr = hdr[:-4] + value
    return hdr


def build_header(a):
    if a.raw is not None:
        return bytes.fromhex(a.raw)
    if a.v1 is not None:
        return b"PROXY " + a.v1.encode() + b"\r\n"
    if a.v2 is not None:
        return v2_header(a)
    return b""


def send_pieces(sock, data, pieces, gap_ms):
    if pieces <= 1 or len(data) <= 1:
        sock.sendall(data)
        return True
    step = max(1, (len(data) + pieces - 1) // pieces)
    for i in range(0, len(data), step):
        try:
            sock.sendall(data[i:i + step])
        except OSError:
            return False
        if i + step < len(data):
            time.sleep(gap_ms / 1000.0)
    return True


def read_all(sock, want, deadline):
    got = b""
    while len(got) < want:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except (socket.timeout, TimeoutError):
            break
        except (ConnectionResetError, ssl.SSLError, OSError):
            break
        if not chunk:
            break
        got += chunk
    return got


def main():
    p = argparse.ArgumentParser()
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--bind", help="source address")
    p.add_argument("--v1")
    p.add_argument("--v2", choices=["proxy", "local"])
    p.add_argument("--raw")
    p.add_argument("--src")
    p.add_argument("--dst")
    p.add_argument("--tlv", action="append", default=[])
    p.add_argument("--alpn")
    p.add_argument("--authority")
    p.add_argument("--unique-id")
    p.add_argument("--ssl-version")
    p.add_argument("--ssl-cn")
    p.add_argument("--tlv-raw", help="bytes appended to the v2 TLVs as they are (malformed TLVs)")
    p.add_argument("--cut", type=int, help="send only the first CUT bytes of the header")
    p.add_argument("--split", type=int, help="send the first SPLIT bytes of the header, wait, "
                   "then the rest")
    p.add_argument("--split-wait", type=float, default=1, help="seconds between the two parts")
    p.add_argument("--shut", action="store_true", help="shut down the write side after the header")
    p.add_argument("--crc", action="store_true")
    p.add_argument("--fam", type=lambda s: int(s, 0))
    p.add_argument("--ver", type=lambda s: int(s, 0))
    p.add_argument("--cmd", type=lambda s: int(s, 0))
    p.add_argument("--len", type=lambda s: int(s, 0))
    p.add_argument("--pieces", type=int, default=1)
    p.add_argument("--gap", type=int, default=50, help="ms between pieces")
    p.add_argument("--with-data", action="store_true",
                   help="send DATA in the same write as the header")
    p.add_argument("--data", default="")
    p.add_argument("--read", type=int, default=None, help="bytes to wait for (default: len(DATA))")
    p.add_argument("--tls", action="store_true")
    p.add_argument("--cafile")
    p.add_argument("--sni", default="localhost")
    p.add_argument("--hold", type=float, default=0,
                   help="seconds to wait before sending DATA (after the TLS handshake)")
    p.add_argument("--timeout", type=float, default=10)
    p.add_argument("--expect-close", action="store_true",
                   help="success is the server closing without a byte")
    a = p.parse_args()

    deadline = time.monotonic() + a.timeout
    family = socket.AF_INET6 if ":" in a.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.settimeout(a.timeout)
    if a.bind:
        sock.bind((a.bind, 0))
    sock.connect((a.host.strip("[]"), a.port))
    header = build_header(a)
    if a.cut is not None:
        header = header[:a.cut]
    data = a.data.encode()
    want = len(data) if a.read is None else a.read
    if a.with_data and not a.tls:
        header += data
        data = b""
    if a.split is not None:
        sock.sendall(header[:a.split])
        time.sleep(a.split_wait)
        header = header[a.split:]
    if not send_pieces(sock, header, a.pieces, a.gap):
        if a.expect_close:
            return 0
        print("proxy_client: the server closed while the header was sent", file=sys.stderr)
        return 1
    if a.shut:
        sock.shutdown(socket.SHUT_WR)
    if a.tls:
        ctx = ssl.create_default_context(cafile=a.cafile)
        if not a.cafile:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        try:
            sock = ctx.wrap_socket(sock, server_hostname=a.sni)
        except (ssl.SSLError, OSError) as e:
            if a.expect_close:
                return 0
            print("proxy_client: TLS handshake failed: %s" % e, file=sys.stderr)
            return 1
        print("proxy_client: tls %s" % sock.version(), file=sys.stderr)
    if a.hold > 0:
        time.sleep(a.hold)
    try:
        if data:
            sock.sendall(data)
    except OSError:
        if a.expect_close:
            return 0
        raise
    got = read_all(sock, max(want, 1) if a.expect_close else want, deadline)
    sys.stdout.buffer.write(got)
    sys.stdout.flush()
    if a.expect_close:
        return 0 if got == b"" and time.monotonic() < deadline else 1
    return 0 if len(got) >= want else 1


if __name__ == "__main__":
    sys.exit(main())

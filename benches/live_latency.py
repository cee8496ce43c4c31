#!/usr/bin/env python3
"""Event latency of `acrscope live` (a benchmark, not a test): from a packet's capture
timestamp to the moment its ndjson event can be read, on a quiet link.

A DNS answer is sent on loopback every --every seconds (from 127.0.0.86:53, an address only
this machine has) while `acrscope live -i lo --format ndjson` captures it; each `dns` event is
stamped when read and compared with the packet time it carries. In the same run, `tcpdump -l
-tt` captures the same packets as a peer (its line per packet, stamped the same way).
Prints the median, 90th and 99th percentiles and the worst, in milliseconds.

Usage (as root; build first with `cargo build --release`):
  benches/live_latency.py [--count N] [--every S] [--bin PATH] [--no-tcpdump]
"""

import argparse
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
from datetime import datetime

HOST = "127.0.0.86"


def answer(i):
    """A DNS response for latency-<i>.example (type A, one address)."""
    name = b"".join(bytes([len(p)]) + p for p in [f"latency-{i}".encode(), b"example"]) + b"\0"
    head = struct.pack("!HHHHHH", i & 0xFFFF, 0x8180, 1, 1, 0, 0)
    question = name + struct.pack("!HH", 1, 1)
    rr = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + bytes([192, 0, 2, i % 250 + 1])
    return head + question + rr


def reader(stream, parse, out):
    """Stamps each line as it is read and keeps (packet time, read time) for the ones `parse` takes."""
    for line in stream:
        got = time.time()
        ts = parse(line)
        if ts is not None:
            out.append((ts, got))


def acrscope_ts(line):
    try:
        e = json.loads(line)
    except ValueError:
        return None
    if e.get("event") != "dns":
        return None
    return datetime.fromisoformat(e["ts"].replace("Z", "+00:00")).timestamp()


def tcpdump_ts(line):
    head = line.split(" ", 1)[0]
    try:
        return float(head)
    except ValueError:
        return None


def start(cmd, parse, ready_word):
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
    out = []
    # Ready once the first line (acrscope's `start`) or tcpdump's "listening on" is out.
    stream = p.stdout if ready_word is None else p.stderr
    first = stream.readline()
    if not first:
        sys.exit(f"live_latency: {cmd[0]} did not start: {p.stderr.read()}")
    threading.Thread(target=reader, args=(p.stdout, parse, out), daemon=True).start()
    return p, out


def percentiles(pairs):
    ms = sorted((got - ts) * 1e3 for ts, got in pairs)
    if not ms:
        return "no events"
    pick = lambda q: ms[min(len(ms) - 1, int(q * len(ms)))]
    return f"n={len(ms)} median {pick(0.5):.1f} p90 {pick(0.9):.1f} p99 {pick(0.99):.1f} max {ms[-1]:.1f} ms"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--every", type=float, default=0.1)
    ap.add_argument("--bin", default=os.path.join(os.path.dirname(__file__), "..", "target", "release", "acrscope"))
    ap.add_argument("--no-tcpdump", action="store_true")
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("live_latency: run as root (it captures on lo)")
    flt = f"udp and host {HOST} and port 53"
    duration = str(int(a.count * a.every) + 5)
    live, events = start([a.bin, "live", "-i", "lo", "--format", "ndjson", "--duration", duration, "--filter", flt],
                         acrscope_ts, None)
    peer = None
    if not a.no_tcpdump and shutil.which("tcpdump"):
        peer, lines = start(["tcpdump", "-l", "-n", "-tt", "-i", "lo", flt], tcpdump_ts, "listening")
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind((HOST, 53))
    for i in range(a.count):
        server.sendto(answer(i), ("127.0.0.1", 40053))
        time.sleep(a.every)
    time.sleep(1)
    live.send_signal(2)
    live.wait()
    print(f"acrscope ({a.count} answers, one every {a.every * 1e3:.0f} ms): {percentiles(events)}")
    if peer:
        peer.send_signal(2)
        peer.wait()
        print(f"tcpdump -l (same packets): {percentiles(lines)}")


if __name__ == "__main__":
    main()

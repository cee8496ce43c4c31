#!/usr/bin/env python3
"""Adds "tcp_analysis" to every oracle/<capture>.json: one entry per TCP stream (tshark's
tcp.stream) with the stream's endpoints, its first frame and the transfer metrics tshark 4.0's
TCP analysis gives, computed as the pull lab's pathlab.py computes them:

  {"stream", "client", "client_port", "server", "server_port", "client_by", "first_frame",
   "connect_rtt_ms", "retransmissions_down", "lost_segments_down", "out_of_order_down",
   "zero_windows_up", "zero_windows_down", "window_full_down", "max_gap_down_s",
   "goodput_down_bps", "mss_up", "mss_down", "max_segment_down", "reversed"?}

The client is the sender of the stream's first frame ("client_by": "syn" when it is a SYN,
"first-frame" otherwise), or its receiver when that frame is a SYN-ACK ("syn-ack"). When the
first frame is neither, which side is the client is a guess: "reversed" then holds the same
endpoints and metrics with the other side as client. "down" is server to client, "up" client to
server.
  connect_rtt_ms      last client SYN before the first SYN-ACK -> that SYN-ACK; null without
                      either
  retransmissions_down  down frames flagged retransmission, fast or spurious retransmission
  lost_segments_down, out_of_order_down, window_full_down, zero_windows_down
                      down frames flagged lost_segment, out_of_order, window_full, zero_window
  zero_windows_up     up frames flagged zero_window
  max_gap_down_s      largest interval between consecutive down frames with tcp.len > 0
                      (null with fewer than two)
  goodput_down_bps    8 x payload of the down frames with tcp.len > 0 not flagged as a
                      retransmission, over the time from the first to the last of them (null
                      with fewer than two, or no time between them)
  mss_up / mss_down   MSS option of the client's first SYN carrying one / the first SYN-ACK
  max_segment_down    largest tcp.len of a down frame (0 if none)

A client that reuses its port for a new connection stays in one tcp.stream for tshark, which
marks the reuse (tcp.analysis.reused_ports): the stream is then split into one entry per
connection, each from its SYN (as acrscope opens a new flow there), with tshark's flags as they
are.

A TCP header quoted inside an ICMP error has no tcp.stream and is skipped. Addresses are those of
the innermost IP header (tunnels), as in make-oracle.sh.

Usage: ./add-tcp-oracle.py [capture ...]   (no arguments: every capture that has an oracle file)
Needs tshark. Runs with an empty configuration directory and the preferences make-oracle.sh
pinned (read back from each oracle file's "tshark_preferences").
"""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
FIELDS = ["tcp.stream", "frame.number", "frame.time_relative", "frame.protocols",
          "ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "tcp.srcport", "tcp.dstport", "tcp.len",
          "tcp.flags.syn", "tcp.flags.ack",
          "tcp.analysis.retransmission", "tcp.analysis.fast_retransmission",
          "tcp.analysis.spurious_retransmission", "tcp.analysis.lost_segment",
          "tcp.analysis.out_of_order", "tcp.analysis.zero_window", "tcp.analysis.window_full",
          "tcp.options.mss_val", "tcp.analysis.reused_ports", "tcp.seq_raw"]
COUNTED_DOWN = {"lost_segments_down": "tcp.analysis.lost_segment",
                "out_of_order_down": "tcp.analysis.out_of_order",
                "window_full_down": "tcp.analysis.window_full",
                "zero_windows_down": "tcp.analysis.zero_window"}
RETRANSMISSION = ["tcp.analysis.retransmission", "tcp.analysis.fast_retransmission",
                  "tcp.analysis.spurious_retransmission"]


def on(v):
    return v not in ("", "0", "False")


def rows(path, prefs, env):
    """One dict per TCP frame; the last occurrence of each field (the innermost header)."""
    args = ["tshark", "-n", "-r", path]
    for p in prefs:
        args += ["-o", p]
    args += ["-Y", "tcp", "-T", "fields", "-E", "separator=\t", "-E", "occurrence=l"]
    for f in FIELDS:
        args += ["-e", f]
    out = subprocess.run(args, capture_output=True, text=True, env=env).stdout
    for line in out.splitlines():
        vals = line.split("\t")
        vals += [""] * (len(FIELDS) - len(vals))
        yield dict(zip(FIELDS, vals))


def addresses(r):
    """(src, dst) of the innermost IP header, by the last ip/ipv6 layer in frame.protocols."""
    layers = [t for t in r["frame.protocols"].split(":") if t in ("ip", "ipv6")]
    if layers and layers[-1] == "ipv6":
        return r["ipv6.src"], r["ipv6.dst"]
    return r["ip.src"] or r["ipv6.src"], r["ip.dst"] or r["ipv6.dst"]


def accumulator(r, client, server, client_by):
    a = {"stream": int(r["tcp.stream"]), "client": client[0], "client_port": int(client[1]),
         "server": server[0], "server_port": int(server[1]), "client_by": client_by,
         "first_frame": int(r["frame.number"]), "mss_up": None, "mss_down": None,
         "retransmissions_down": 0, "zero_windows_up": 0, "max_segment_down": 0,
         "_client": client, "_syns": [], "_synack": None, "_down_data": []}
    for k in COUNTED_DOWN:
        a[k] = 0
    return a


def new_stream(r):
    """The accumulators of a stream: its client's view, and when its first frame shows neither
    SYN nor SYN-ACK (the start was not captured), also the other side's."""
    src, dst = addresses(r)
    first, second = (src, r["tcp.srcport"]), (dst, r["tcp.dstport"])
    syn, ack = on(r["tcp.flags.syn"]), on(r["tcp.flags.ack"])
    if syn and ack:  # the SYN was not captured: the SYN-ACK's receiver is the client
        return [accumulator(r, second, first, "syn-ack")]
    if syn:
        return [accumulator(r, first, second, "syn")]
    return [accumulator(r, first, second, "first-frame"), accumulator(r, second, first, "first-frame")]


def follow(a, r, t):
    """Adds one frame of the stream to its accumulator."""
    ln = int(r["tcp.len"] or 0)
    syn, ack = on(r["tcp.flags.syn"]), on(r["tcp.flags.ack"])
    src, _ = addresses(r)
    if (src, r["tcp.srcport"]) == a["_client"]:
        if syn and not ack:
            if a["_synack"] is None:
                a["_syns"].append(t)
            if a["mss_up"] is None and r["tcp.options.mss_val"]:
                a["mss_up"] = int(r["tcp.options.mss_val"])
        a["zero_windows_up"] += on(r["tcp.analysis.zero_window"])
        return
    if syn and ack and a["_synack"] is None:
        a["_synack"] = t
        if r["tcp.options.mss_val"]:
            a["mss_down"] = int(r["tcp.options.mss_val"])
    retx = any(on(r[f]) for f in RETRANSMISSION)
    a["retransmissions_down"] += retx
    for k, f in COUNTED_DOWN.items():
        a[k] += on(r[f])
    a["max_segment_down"] = max(a["max_segment_down"], ln)
    if ln > 0:
        a["_down_data"].append((t, ln, retx))


def finish(a):
    """The public entry of a stream: raw facts turned into the metrics, in a fixed key order."""
    m = {k: a[k] for k in ("stream", "client", "client_port", "server", "server_port", "client_by",
                           "first_frame")}
    if a["_synack"] is not None and a["_syns"]:
        m["connect_rtt_ms"] = round((a["_synack"] - a["_syns"][-1]) * 1000, 3)
    else:
        m["connect_rtt_ms"] = None
    for k in ("retransmissions_down", "lost_segments_down", "out_of_order_down",
              "zero_windows_up", "zero_windows_down", "window_full_down"):
        m[k] = a[k]
    times = [d[0] for d in a["_down_data"]]
    gaps = [b - c for c, b in zip(times, times[1:])]
    m["max_gap_down_s"] = round(max(gaps), 6) if gaps else None
    good = [d for d in a["_down_data"] if not d[2]]
    if len(good) >= 2 and good[-1][0] > good[0][0]:
        m["goodput_down_bps"] = round(8 * sum(d[1] for d in good) / (good[-1][0] - good[0][0]), 1)
    else:
        m["goodput_down_bps"] = None
    for k in ("mss_up", "mss_down", "max_segment_down"):
        m[k] = a[k]
    return m


def reuse_starts(frames):
    """Frame numbers where a stream's rows begin a new connection: tshark keeps one tcp.stream
    when a client reuses its port, but marks the reuse (tcp.analysis.reused_ports, often on the
    SYN-ACK); the new connection starts at the last SYN without ACK before that mark, when that
    SYN's sequence number differs from the connection's first (a SYN sent again with the same
    number is a retry of the same connection)."""
    starts = set()
    last_syn = None
    isn = None
    for k, r in enumerate(frames):
        if on(r["tcp.flags.syn"]) and not on(r["tcp.flags.ack"]):
            last_syn = k
            isn = r["tcp.seq_raw"] if isn is None else isn
        if on(r["tcp.analysis.reused_ports"]) and last_syn and frames[last_syn]["tcp.seq_raw"] != isn:
            starts.add(frames[last_syn]["frame.number"])
            isn = frames[last_syn]["tcp.seq_raw"]
    return starts


def tcp_analysis(path, prefs, env):
    by_stream = {}
    for r in rows(path, prefs, env):
        if not r["tcp.stream"] or not r["tcp.srcport"]:
            continue  # a TCP header quoted inside ICMP: not a segment of a stream
        by_stream.setdefault(int(r["tcp.stream"]), []).append(r)
    out = []
    for s in sorted(by_stream):
        frames = by_stream[s]
        starts = reuse_starts(frames)
        parts = []
        for r in frames:
            if not parts or r["frame.number"] in starts:
                parts.append(new_stream(r))
            for a in parts[-1]:
                follow(a, r, float(r["frame.time_relative"]))
        for accs in parts:
            entry = finish(accs[0])
            if len(accs) > 1:
                entry["reversed"] = {k: v for k, v in finish(accs[1]).items()
                                     if k not in ("stream", "client_by", "first_frame")}
            out.append(entry)
    return out


def main():
    os.chdir(HERE)
    env = dict(os.environ, WIRESHARK_CONFIG_DIR=tempfile.mkdtemp())
    caps = sys.argv[1:] or sorted(
        os.path.relpath(os.path.join(d, f), "oracle")[:-5]
        for d, _, fs in os.walk("oracle") for f in fs if f.endswith(".json"))
    total = 0
    for cap in caps:
        opath = os.path.join("oracle", cap + ".json")
        if not os.path.exists(cap) or not os.path.exists(opath):
            continue
        o = json.load(open(opath))
        o["tcp_analysis"] = tcp_analysis(cap, o["tshark_preferences"], env)
        total += len(o["tcp_analysis"])
        with open(opath, "w") as fh:
            json.dump(o, fh, indent=1, ensure_ascii=False)
            fh.write("\n")
    print("tcp_analysis entries (TCP streams): %d" % total)


if __name__ == "__main__":
    main()

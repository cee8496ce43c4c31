#!/usr/bin/env python3
"""The network an `acrscope probe` test runs against: a registry, its data endpoint, a storage
account, their DNS and (in some scenarios) an HTTP proxy, all inside one network namespace.

Usage, as root, inside a namespace the caller made and deletes:
    ip netns exec NS python3 tests/probe_lab/lab.py SCENARIO WORKDIR

Writes WORKDIR/ca.pem (the CA the servers' certificates chain to, to pass as --ca-file),
WORKDIR/inspection-ca.pem, WORKDIR/lab.json (names, image, layer digest) and WORKDIR/lab.log,
prints one line "ready" once everything listens, and serves until stdin reaches EOF.
Setup errors go to stderr, with exit status 1 and no "ready".

DNS answers on 127.0.0.53:53 (UDP and TCP) as a recursive resolver would, CNAME chains included.
TLS servers listen on port 443: the login server on 127.0.10.1, the dedicated data endpoint on
127.0.20.1, the storage account on 127.0.30.1. 10.77.0.9 and fd77::9 are black holes: a SYN
to them goes to a MAC address nobody has, so connecting times out rather than failing fast.
"""

import datetime
import hashlib
import ipaddress
import json
import logging
import os
import re
import signal
import socket
import socketserver
import ssl
import subprocess
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler

LOGIN = "fabrikamreg.azurecr.io"
LOGIN_HOST = "jpeacr2.japaneast.cloudapp.azure.com"
DATA = "fabrikamreg.japaneast.data.azurecr.io"
DATA_HOST = "jpeacr2dp.japaneast.cloudapp.azure.com"
STORAGE = "jpeacrprod0st17.blob.core.windows.net"
BLACK_HOLE_V4, BLACK_HOLE_V6 = "10.77.0.9", "fd77::9"

# A string is a CNAME's target, a list the name's A and AAAA addresses.
PUBLIC_ZONE = {
    LOGIN: LOGIN_HOST,
    LOGIN_HOST: ["127.0.10.1"],
    DATA: "jpeacr2.data.azcr.io",
    "jpeacr2.data.azcr.io": "jpeacr2-data.trafficmanager.net",
    "jpeacr2-data.trafficmanager.net": DATA_HOST,
    DATA_HOST: ["127.0.20.1"],
    STORAGE: "blob.tyo22prdstr02a.store.core.windows.net",
    "blob.tyo22prdstr02a.store.core.windows.net": ["127.0.30.1"],
}

# Each scenario is PUBLIC_ZONE with `zone`'s names replaced (None: the name does not exist),
# `redirect`: the host the layer's 307 points to, `login_ca`: the issuer of the login server's
# certificate, `proxy`: what the proxy on 127.0.0.9:3128 does with a CONNECT (None: no proxy).
DEFAULTS = {"zone": {}, "redirect": DATA, "login_ca": "ca", "proxy": None}
SCENARIOS = {
    "healthy": {},
    "healthy-blob": {"zone": {DATA: None}, "redirect": STORAGE},
    "data-timeout": {"zone": {DATA_HOST: [BLACK_HOLE_V4]}},
    "refused": {"zone": {DATA_HOST: ["127.0.20.7"]}},
    "inspection": {"login_ca": "inspection-ca"},
    "privatelink-missing": {"zone": {
        LOGIN: "fabrikamreg.privatelink.azurecr.io",
        DATA: "fabrikamreg.japaneast.data.privatelink.azurecr.io",
    }},
    "proxy-refused": {"proxy": "refuse"},
    "proxy-ok": {"proxy": "relay"},
    "ipv6-broken": {"zone": {
        LOGIN_HOST: ["127.0.10.1", BLACK_HOLE_V6],
        DATA_HOST: ["127.0.20.1", BLACK_HOLE_V6],
    }},
}

# (address, certificate names, issuer, site): the login server's issuer depends on the scenario.
SERVERS = [
    ("127.0.10.1", [LOGIN, "*.azurecr.io"], None, "login"),
    ("127.0.20.1", [DATA, "*.japaneast.data.azurecr.io"], "ca", "blobs"),
    ("127.0.30.1", [STORAGE, "*.blob.core.windows.net"], "ca", "blobs"),
]
CA_SUBJECTS = {
    "ca": "/C=US/O=Microsoft Corporation/CN=Microsoft Azure RSA TLS Issuing CA 07",
    "inspection-ca": "/O=Fabrikam Corp/CN=Fabrikam Corp TLS Inspection CA",
}
DNS_ADDRESS, PROXY_ADDRESS = ("127.0.0.53", 53), ("127.0.0.9", 3128)
REPOSITORY, TOKEN, LAYER_SIZE = "library/hello", "labtoken", 8 << 20

log = logging.getLogger("lab")


class SetupError(Exception):
    pass


def run(*args, env=None):
    p = subprocess.run(args, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        raise SetupError(f"{' '.join(args)}: {p.stderr.strip() or p.returncode}")


# --- network --------------------------------------------------------------------------------

def make_black_holes():
    subprocess.run(["ip", "link", "del", "bh0"], capture_output=True)  # left by a killed lab
    run("ip", "link", "add", "bh0", "type", "veth", "peer", "name", "bh1")
    for dev in ("bh1", "bh0"):
        run("ip", "link", "set", dev, "up")
    # bh0 needs addresses of its own, or the kernel has no source address for the black holes.
    run("ip", "addr", "add", "10.77.0.1/24", "dev", "bh0")
    run("ip", "-6", "addr", "add", "fd77::1/64", "dev", "bh0", "nodad")
    for addr in (BLACK_HOLE_V4, BLACK_HOLE_V6):
        run("ip", "neigh", "replace", addr, "lladdr", "02:00:00:00:77:09", "dev", "bh0", "nud", "permanent")
    for addr in (BLACK_HOLE_V4, BLACK_HOLE_V6):
        family = socket.AF_INET6 if ":" in addr else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.settimeout(0.25)
            try:
                s.connect((addr, 443))
            except TimeoutError:
                continue
            except OSError as e:
                raise SetupError(f"{addr}:443 should time out, got: {e}") from None
            raise SetupError(f"{addr}:443 should time out, but it connected")


# --- certificates ---------------------------------------------------------------------------

OPENSSL_CONF = """\
[ca]
default_ca = lab
[lab]
database = {pki}/index.txt
new_certs_dir = {pki}
rand_serial = yes
default_md = sha256
policy = anything
unique_subject = no
[anything]
countryName = optional
organizationName = optional
commonName = supplied
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[leaf_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = $ENV::SAN
"""


def make_certificates(work, login_ca):
    """Returns {address: (cert, key)}. `openssl ca` because only it takes a start date in
    OpenSSL 3.0, and a certificate valid from this very second fails on a clock a bit behind."""
    pki = os.path.join(work, "pki")
    os.makedirs(pki, exist_ok=True)
    conf = os.path.join(pki, "openssl.cnf")
    with open(conf, "w") as f:
        f.write(OPENSSL_CONF.format(pki=pki))
    open(os.path.join(pki, "index.txt"), "w").close()
    now = datetime.datetime.now(datetime.timezone.utc)
    start = (now - datetime.timedelta(days=1)).strftime("%y%m%d%H%M%SZ")

    def issue(name, subject, ext, signer, days, san=""):
        key, csr, cert = (os.path.join(pki, f"{name}.{x}") for x in ("key", "csr", "pem"))
        run("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", key, "-out", csr, "-subj", subject)
        signing = ["-selfsign", "-keyfile", key] if signer is None else \
            ["-cert", os.path.join(pki, f"{signer}.pem"), "-keyfile", os.path.join(pki, f"{signer}.key")]
        end = (now + datetime.timedelta(days=days)).strftime("%y%m%d%H%M%SZ")
        run("openssl", "ca", "-batch", "-notext", "-preserveDN", "-config", conf, *signing,
            "-in", csr, "-out", cert, "-startdate", start, "-enddate", end,
            "-extfile", conf, "-extensions", ext, env={**os.environ, "SAN": san or "DNS:unused"})
        return cert, key

    for ca, subject in CA_SUBJECTS.items():
        cert, _ = issue(ca, subject, "ca_ext", None, 365)
        with open(cert) as src, open(os.path.join(work, f"{ca}.pem"), "w") as dst:
            dst.write(src.read())
    out = {}
    for addr, names, issuer, _ in SERVERS:
        issuer = issuer or login_ca
        san = ",".join(f"DNS:{n}" for n in names)
        out[addr] = issue(f"{names[0]}-by-{issuer}", f"/C=US/O=Microsoft Corporation/CN={names[0]}",
                          "leaf_ext", issuer, 30, san)
    return out


# --- DNS ------------------------------------------------------------------------------------

A, CNAME, AAAA = 1, 5, 28
NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP = 0, 1, 2, 3, 4


def resolve(zone, name, qtype):
    """(rcode, [(owner, type, value)]) as a recursive resolver answers: the CNAMEs followed from
    `name`, then the last name's records of `qtype`; NXDOMAIN keeps the CNAMEs already found."""
    answers, owner = [], name
    while True:
        rec = zone.get(owner.lower())
        if rec is None:
            return NXDOMAIN, answers
        if isinstance(rec, str):
            answers.append((owner, CNAME, rec))
            if qtype == CNAME:
                return NOERROR, answers
            if len(answers) > 16:
                return SERVFAIL, []
            owner = rec
            continue
        family = {A: socket.AF_INET, AAAA: socket.AF_INET6}.get(qtype)
        answers += [(owner, qtype, a) for a in rec if family == (socket.AF_INET6 if ":" in a else socket.AF_INET)]
        return NOERROR, answers


def encode_name(name):
    return b"".join(bytes([len(l)]) + l.encode() for l in name.rstrip(".").split(".")) + b"\0"


def dns_answer(zone, query):
    """The wire answer to a wire query; the ID, RD bit and question echoed."""
    if len(query) < 12:
        return None
    qid, flags, qdcount = int.from_bytes(query[:2]), int.from_bytes(query[2:4]), int.from_bytes(query[4:6])
    head = lambda rcode, qd, an: (qid.to_bytes(2) + (0x8080 | flags & 0x7900 | rcode).to_bytes(2)
                                  + qd.to_bytes(2) + an.to_bytes(2) + bytes(4))
    try:
        if qdcount != 1:
            raise ValueError
        labels, at = [], 12
        while query[at]:
            if query[at] & 0xC0:
                raise ValueError
            labels.append(query[at + 1:at + 1 + query[at]].decode("ascii"))
            at += 1 + query[at]
        question = query[12:at + 5]
        qtype = int.from_bytes(query[at + 1:at + 3])
        if len(question) != at - 7:
            raise ValueError
    except (ValueError, IndexError):
        return head(FORMERR, 0, 0)
    if flags & 0x7800:
        return head(NOTIMP, 1, 0) + question
    name = ".".join(labels)
    rcode, answers = resolve(zone, name, qtype)
    log.info("dns %s type %d -> rcode %d %s", name, qtype, rcode, [a[2] for a in answers])
    body = b""
    for owner, rtype, value in answers:
        rdata = encode_name(value) if rtype == CNAME else \
            socket.inet_pton(socket.AF_INET6 if rtype == AAAA else socket.AF_INET, value)
        body += encode_name(owner) + rtype.to_bytes(2) + (1).to_bytes(2) + (60).to_bytes(4) \
            + len(rdata).to_bytes(2) + rdata
    return head(rcode, 1, len(answers)) + question + body


class DnsUdp(socketserver.BaseRequestHandler):
    def handle(self):
        data, sock = self.request
        if reply := dns_answer(self.server.zone, data):
            sock.sendto(reply, self.client_address)


class DnsTcp(socketserver.StreamRequestHandler):
    timeout = 10

    def handle(self):
        while len(size := self.rfile.read(2)) == 2:
            reply = dns_answer(self.server.zone, self.rfile.read(int.from_bytes(size)))
            if reply is None:
                return
            self.wfile.write(len(reply).to_bytes(2) + reply)


# --- registry and storage over HTTPS --------------------------------------------------------

def make_image():
    """{hex digest: bytes} of the image's blobs, and the manifest. The layer is 8 MiB of
    SHAKE-256 output: random-looking, so no layer of the path can compress it, and the same
    on every run."""
    layer = hashlib.shake_256(b"acrscope probe lab layer").digest(LAYER_SIZE)
    layer_hex = hashlib.sha256(layer).hexdigest()
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": [f"sha256:{layer_hex}"]}}).encode()
    config_hex = hashlib.sha256(config).hexdigest()
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": f"sha256:{config_hex}", "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": f"sha256:{layer_hex}", "size": len(layer)}],
    }, indent=2).encode()
    return {layer_hex: layer, config_hex: config}, manifest, layer_hex


def compact(value):
    return json.dumps(value, separators=(",", ":")).encode()


def registry_error(code, message):
    return compact({"errors": [{"code": code, "message": message}]})


def login_site(lab, req, path):
    """(status, headers, body) of the login server."""
    status, headers, body = login_answer(lab, req, path)
    return status, {**headers, "Docker-Distribution-Api-Version": "registry/2.0"}, body


def login_answer(lab, req, path):
    if path == "/oauth2/token":
        return 200, {"Content-Type": "application/json"}, compact({"access_token": TOKEN, "token": TOKEN})
    if not path.startswith("/v2/"):
        return 404, {"Content-Type": "text/plain"}, b"404 page not found\n"
    if req.headers.get("Authorization") != f"Bearer {TOKEN}":
        challenge = f'Bearer realm="https://{LOGIN}/oauth2/token",service="{LOGIN}"'
        if path.startswith(f"/v2/{REPOSITORY}/"):
            challenge += f',scope="repository:{REPOSITORY}:pull"'
        return 401, {"Content-Type": "application/json", "WWW-Authenticate": challenge}, \
            registry_error("UNAUTHORIZED", "authentication required")
    if path == "/v2/":
        return 200, {"Content-Type": "application/json"}, b"{}"
    digest = "sha256:" + hashlib.sha256(lab.manifest).hexdigest()
    if path in (f"/v2/{REPOSITORY}/manifests/latest", f"/v2/{REPOSITORY}/manifests/{digest}"):
        return 200, {"Content-Type": "application/vnd.oci.image.manifest.v1+json",
                     "Docker-Content-Digest": digest}, lab.manifest
    m = re.fullmatch(rf"/v2/{REPOSITORY}/blobs/sha256:([0-9a-f]{{64}})", path)
    if m and m[1] in lab.blobs:
        h = m[1]
        location = (f"https://{lab.redirect}/docker/registry/v2/blobs/sha256/{h[:2]}/{h}/data"
                    "?se=2030-01-01T00%3A00%3A00Z&sig=labsig&sp=r&spr=https&sr=b&sv=2018-03-28")
        return 307, {"Location": location, "Content-Type": "text/html"}, b""
    return 404, {"Content-Type": "application/json"}, registry_error("NAME_UNKNOWN", "not found")


def blob_site(lab, req, path):
    """(status, headers, body) of the data endpoint or storage account: Range is honoured."""
    m = re.fullmatch(r"/docker/registry/v2/blobs/sha256/([0-9a-f]{2})/([0-9a-f]{64})/data", path)
    if not m or m[2] not in lab.blobs or m[2][:2] != m[1]:
        return 404, {"Content-Type": "application/xml"}, \
            b'<?xml version="1.0" encoding="utf-8"?><Error><Code>BlobNotFound</Code></Error>'
    data = lab.blobs[m[2]]
    headers = {"Content-Type": "application/octet-stream", "Accept-Ranges": "bytes", "ETag": f'"{m[2][:16]}"'}
    spec = req.headers.get("Range")
    if spec is None:
        return 200, headers, data
    r = re.fullmatch(r"bytes=(\d*)-(\d*)", spec.strip())
    first, last = (int(x) if x else None for x in r.groups()) if r else (None, None)
    if first is None and last is not None:  # a suffix: the last N bytes
        first, last = max(len(data) - last, 0), len(data) - 1
    elif first is not None:
        last = len(data) - 1 if last is None else min(last, len(data) - 1)
    if first is None or first > last:
        return 416, {"Content-Range": f"bytes */{len(data)}"}, b""
    headers["Content-Range"] = f"bytes {first}-{last}/{len(data)}"
    return 206, headers, data[first:last + 1]


class HttpsHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30

    def version_string(self):
        return "acrscope-probe-lab"

    def do_GET(self):
        self.answer(send_body=True)

    def do_HEAD(self):
        self.answer(send_body=False)

    def answer(self, send_body):
        path = urllib.parse.urlsplit(self.path).path
        status, headers, body = self.server.site(self.server.lab, self, path)
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def log_message(self, fmt, *args):
        log.info("%s %s", self.server.server_address[0], fmt % args)


class Server(socketserver.ThreadingTCPServer):
    """ThreadingTCPServer, not http.server's: that one looks up the host's FQDN, which waits
    out a resolver the namespace cannot reach."""
    daemon_threads = allow_reuse_address = True

    def handle_error(self, request, client_address):
        log.warning("%s from %s: %r", self.server_address, client_address, sys.exc_info()[1])


class HttpsServer(Server):
    def finish_request(self, request, client_address):
        # The handshake happens here, in the connection's thread, so a stalled client holds
        # up no one else.
        request.settimeout(HttpsHandler.timeout)
        with self.context.wrap_socket(request, server_side=True) as tls:
            self.RequestHandlerClass(tls, client_address, self)
            # A close_notify, as real servers send: rustls reports a close without one as
            # truncation. Not blocking: the client's own close_notify is not worth waiting for.
            tls.setblocking(False)
            try:
                tls.unwrap()
            except OSError:
                pass


# --- proxy ----------------------------------------------------------------------------------

def squid_error(status, error):
    body = f"<html><body><h1>{status}</h1><p>{error}</p></body></html>\n".encode()
    return (f"HTTP/1.1 {status}\r\nServer: squid/5.7\r\nX-Squid-Error: {error}\r\n"
            f"Content-Type: text/html\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body


def pipe(src, dst):
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    try:
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass


class ProxyHandler(socketserver.BaseRequestHandler):
    def handle(self):
        client, head = self.request, b""
        client.settimeout(30)
        while b"\r\n\r\n" not in head and len(head) < 65536:
            if not (chunk := client.recv(4096)):
                return
            head += chunk
        head, _, early = head.partition(b"\r\n\r\n")
        line = head.split(b"\r\n", 1)[0].decode("latin-1")
        log.info("proxy %s", line)
        m = re.fullmatch(r"CONNECT (\S+):(\d+) HTTP/1\.[01]", line)
        if self.server.mode == "refuse":
            return client.sendall(squid_error("403 Forbidden", "ERR_ACCESS_DENIED 0"))
        if not m:
            return client.sendall(squid_error("400 Bad Request", "ERR_INVALID_REQ 0"))
        host = m[1].strip("[]")
        try:
            addrs = [str(ipaddress.ip_address(host))]
        except ValueError:
            addrs = [a for q in (A, AAAA) for (_, t, a) in resolve(self.server.zone, host, q)[1] if t == q]
        if not addrs:
            return client.sendall(squid_error("503 Service Unavailable", "ERR_DNS_FAIL 0"))
        log.info("proxy connects to %s port %s", addrs[0], m[2])
        try:
            upstream = socket.create_connection((addrs[0], int(m[2])), timeout=10)
        except OSError as e:
            return client.sendall(squid_error("503 Service Unavailable", f"ERR_CONNECT_FAIL {e.errno or 110}"))
        with upstream:
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            client.settimeout(None)
            upstream.settimeout(None)
            if early:
                upstream.sendall(early)
            back = threading.Thread(target=pipe, args=(upstream, client), daemon=True)
            back.start()
            pipe(client, upstream)
            back.join()


# --- main -----------------------------------------------------------------------------------

class Lab:
    def __init__(self, scenario):
        spec = {**DEFAULTS, **SCENARIOS[scenario]}
        self.zone = {n: v for n, v in {**PUBLIC_ZONE, **spec["zone"]}.items() if v is not None}
        self.redirect, self.login_ca, self.proxy = spec["redirect"], spec["login_ca"], spec["proxy"]
        self.blobs, self.manifest, self.layer = make_image()
        self.servers, self.black_holes = [], False

    def listen(self, cls, address, handler, **attributes):
        try:
            server = cls(address, handler)
        except OSError as e:
            raise SetupError(f"cannot listen on {address[0]} port {address[1]}: {e.strerror}") from None
        server.daemon_threads = True
        vars(server).update(attributes)
        self.servers.append(server)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()

    def start(self, certs):
        for cls, handler in ((socketserver.ThreadingUDPServer, DnsUdp), (Server, DnsTcp)):
            self.listen(cls, DNS_ADDRESS, handler, zone=self.zone)
        sites = {"login": login_site, "blobs": blob_site}
        for addr, _, _, site in SERVERS:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*certs[addr])
            self.listen(HttpsServer, (addr, 443), HttpsHandler, lab=self, site=sites[site], context=context)
        if self.proxy:
            self.listen(Server, PROXY_ADDRESS, ProxyHandler, zone=self.zone, mode=self.proxy)

    def stop(self):
        for server in self.servers:
            server.shutdown()
            server.server_close()
        if self.black_holes:
            subprocess.run(["ip", "link", "del", "bh0"], capture_output=True)


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in SCENARIOS:
        print(f"usage: {sys.argv[0]} {{{'|'.join(SCENARIOS)}}} WORKDIR", file=sys.stderr)
        return 2
    scenario, work = sys.argv[1], os.path.abspath(sys.argv[2])
    os.makedirs(work, exist_ok=True)
    logging.basicConfig(filename=os.path.join(work, "lab.log"), level=logging.INFO,
                        format="%(asctime)s %(threadName)s %(message)s")
    # SIGTERM unwinds like the end of stdin, so the veth pair still goes.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    lab = Lab(scenario)
    try:
        try:
            run("ip", "link", "set", "lo", "up")
            # Listening first: a second lab in the namespace fails here, before touching bh0.
            lab.start(make_certificates(work, lab.login_ca))
            lab.black_holes = True
            make_black_holes()
            proxy = f"http://{PROXY_ADDRESS[0]}:{PROXY_ADDRESS[1]}" if lab.proxy else None
            with open(os.path.join(work, "lab.json"), "w") as f:
                json.dump({"scenario": scenario, "login": LOGIN, "redirect": lab.redirect,
                           "image": f"{LOGIN}/{REPOSITORY}:latest", "layer": f"sha256:{lab.layer}",
                           "layer_size": LAYER_SIZE, "resolver": DNS_ADDRESS[0], "proxy": proxy}, f, indent=2)
        except (SetupError, OSError) as e:
            print(f"lab: {e}", file=sys.stderr)
            return 1
        log.info("ready: %s", scenario)
        print("ready", flush=True)
        while sys.stdin.buffer.read(4096):
            pass
        log.info("stdin closed, stopping")
    finally:
        lab.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

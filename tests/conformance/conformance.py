#!/usr/bin/python3
"""HTTP/1.1 proxy conformance suite for sgd, with HAProxy as the reference.

Starts the real sgd binary, an HAProxy (reference) and strict h11 origin nodes
(strict_node.py), all on 127.0.0.1 with kernel-chosen ports, then runs every case in cases.py
against both proxies. Clients write exact raw bytes and read answers with a strict h11 client
connection; nodes parse what the proxy sends with h11. sgd must match the RFC-derived
expectation; HAProxy's decision is recorded next to it (a difference is documented in the case).

  /usr/bin/python3 tests/conformance/conformance.py --sgd PATH --haproxy /usr/sbin/haproxy \
      [--only GROUP|CASE[,...]] [-v] [--list]

Exit status: 0 when every selected case passes for sgd, 1 otherwise, 2 on a setup error.
"""
import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

try:
    import h11  # noqa: E402  (Debian python3-h11)
except ImportError:
    sys.exit("conformance: needs h11 (Debian: apt-get install python3-h11; run /usr/bin/python3)")

from strict_node import HEALTH_PATH, MAX_HEAD, StrictNode  # noqa: E402

CONTROLLER_ID = "conformance-ctl"
DEFAULT_TIMEOUT = 2.0


class SetupError(Exception):
    pass


def wait_for(pred, timeout, what, interval=0.02):
    """Poll pred() until it is truthy (returns its value) or raise after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise SetupError(f"timed out waiting for {what}")
        time.sleep(interval)  # polling interval of a condition wait


# --- the strict client ----------------------------------------------------------------------

PREMATURE = "peer closed connection without sending complete message body"


class Resp:
    def __init__(self):
        self.status = None
        self.reason = b""
        self.headers = []
        self.http_version = None
        self.body = b""
        self.trailers = []
        self.interims = []       # (status, headers)
        self.error = None        # h11 RemoteProtocolError text: a protocol violation by the proxy
        self.truncated = False   # closed before the body was complete
        self.closed = False      # EOF instead of an answer
        self.timed_out = False
        self.complete = False
        self.switched = False    # 101 to an upgrade request
        self.raw = b""           # bytes of this answer on the wire (incl. interims)
        self.data_times = []     # (monotonic time, body length so far)
        self.t_start = time.monotonic()
        self.t_end = None

    def header(self, name):
        n = name.lower().encode()
        return [v.decode("latin-1") for k, v in self.headers if k.lower() == n]

    def raw_head(self):
        """The raw header block of the final answer (after any interim answers)."""
        blocks = self.raw.split(b"\r\n\r\n")
        return blocks[len(self.interims)] if len(blocks) > len(self.interims) else self.raw

    def decision(self):
        inter = ""
        if self.interims:
            groups = []
            for st, _ in self.interims:
                if groups and groups[-1][0] == st:
                    groups[-1][1] += 1
                else:
                    groups.append([st, 1])
            inter = ">".join(f"{s}" if n == 1 else f"{s}x{n}" for s, n in groups) + ">"
        if self.switched:
            return inter.rstrip(">")
        if self.error:
            return f"{inter}{self.status or ''}+h11err" if self.status else f"{inter}h11err"
        if self.status is None:
            return inter + ("timeout" if self.timed_out else "closed")
        if self.truncated:
            return f"{inter}{self.status}+trunc"
        if not self.complete:
            return f"{inter}{self.status}+stall"
        return f"{inter}{self.status}"

    def __repr__(self):
        return (f"<Resp {self.decision()} body={self.body[:60]!r} err={self.error!r} "
                f"raw={self.raw[:200]!r}>")


class Client:
    """A raw-socket client whose answers are parsed by a strict h11 client connection.

    The request is written as exact bytes with send(); shadow() tells h11 which request was
    sent (method, version, upgrade/expect headers) so that it frames the answer correctly."""

    def __init__(self, addr, timeout=DEFAULT_TIMEOUT):
        self.sock = socket.create_connection(addr, timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.h = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD)
        self.raw = bytearray()
        self.timeout = timeout
        self.eof = False
        self.errors = []   # h11 RemoteProtocolErrors met while reading answers

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    def send(self, data):
        self.sock.sendall(data)

    def shadow(self, method="GET", version="1.1", headers=()):
        if self.h.our_state is h11.DONE and self.h.their_state is h11.DONE:
            self.h.start_next_cycle()
        hs = [("Host", "x")] + list(headers)
        if version != "1.1":  # h11 only speaks 1.1; an HTTP/1.0 exchange frames like this one
            hs.append(("Connection", "close"))
        self.h.send(h11.Request(method=method, target="/", headers=hs))
        self.h.send(h11.EndOfMessage())

    def request(self, data, method="GET", version="1.1", headers=(), timeout=None):
        self.send(data)
        self.shadow(method, version, headers)
        return self.read_response(timeout)

    def _recv(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout()
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            data = b""
        self.raw += data
        if not data:
            self.eof = True
        return data

    def read_response(self, timeout=None, stop_on_interim=False):
        r = Resp()
        start = len(self.raw) - len(self.h.trailing_data[0])
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            try:
                ev = self.h.next_event()
            except h11.RemoteProtocolError as e:
                if PREMATURE in str(e):
                    r.truncated = True
                elif "ConnectionClosed" in str(e) and r.status is None and not r.interims:
                    r.closed = True   # EOF instead of an answer: not a framing violation
                else:
                    r.error = str(e)
                    self.errors.append(f"{e} (after {bytes(self.raw[-120:])!r})")
                break
            if ev is h11.NEED_DATA:
                try:
                    data = self._recv(deadline)
                except socket.timeout:
                    r.timed_out = True
                    break
                self.h.receive_data(data)
                continue
            if isinstance(ev, h11.InformationalResponse):
                r.interims.append((ev.status_code, list(ev.headers)))
                if ev.status_code == 101:
                    r.switched = True
                    break
                if stop_on_interim:
                    break
            elif isinstance(ev, h11.Response):
                r.status, r.reason, r.headers = ev.status_code, ev.reason, list(ev.headers)
                r.http_version = ev.http_version.decode()
            elif isinstance(ev, h11.Data):
                r.body += ev.data
                r.data_times.append((time.monotonic(), len(r.body)))
            elif isinstance(ev, h11.EndOfMessage):
                r.trailers = list(ev.headers)
                r.complete = True
                break
            elif isinstance(ev, h11.ConnectionClosed):
                r.closed = True
                break
            elif ev is h11.PAUSED:
                break
        end = len(self.raw) - len(self.h.trailing_data[0])
        r.raw = bytes(self.raw[start:end])
        r.t_end = time.monotonic()
        return r

    def pending(self):
        """Bytes received but not (yet) consumed by h11: anything after a complete answer."""
        return self.h.trailing_data[0]

    def recv_raw(self, timeout=None):
        """Read raw bytes past h11 (tunnels); b'' on EOF, None on timeout."""
        try:
            return self._recv(time.monotonic() + (timeout or self.timeout))
        except socket.timeout:
            return None

    def wait_eof(self, timeout=1.0):
        """True if the peer closes within timeout (bytes arriving meanwhile are kept)."""
        deadline = time.monotonic() + timeout
        while not self.eof:
            try:
                self._recv(deadline)
            except socket.timeout:
                return False
        return True


def build(method, target, headers=(), body=b"", version="HTTP/1.1", host="x", eol=b"\r\n"):
    """Exact request bytes. headers: (name, value) pairs or raw bytes lines."""
    out = f"{method} {target} {version}".encode("latin-1") + eol
    if host is not None:
        out += b"Host: " + host.encode() + eol
    for h in headers:
        out += (h if isinstance(h, bytes) else f"{h[0]}: {h[1]}".encode("latin-1")) + eol
    return out + eol + body


# --- targets ----------------------------------------------------------------------------------

class Target:
    def __init__(self, kind, addr, node, make_group=None, **extra):
        self.kind = kind
        self.addr = addr
        self.node = node
        self.nodes = [node]
        self.groups = {}              # case-level group name ("g", "t") -> the proxy's group
        self.make_group = make_group  # sgd: registers a fresh group for this case on first use
        self.clients = []
        self.__dict__.update(extra)

    def client(self, timeout=DEFAULT_TIMEOUT):
        c = Client(self.addr, timeout)
        self.clients.append(c)
        return c

    def path(self, p, group="g"):
        if group not in self.groups:
            self.groups[group] = self.make_group(group) if self.make_group else group
        return f"/groups/{self.groups[group]}{p}"


def admin_call(addr, method, path, body=None, timeout=5.0):
    c = http.client.HTTPConnection(addr[0], addr[1], timeout=timeout)
    try:
        data = json.dumps(body).encode() if body is not None else None
        c.request(method, path, body=data,
                  headers={"Content-Type": "application/json"} if data else {})
        r = c.getresponse()
        raw = r.read()
        try:
            return r.status, json.loads(raw) if raw else None
        except ValueError:
            return r.status, raw
    finally:
        c.close()


def stop_process(p, name, timeout=5.0):
    if p is None or p.poll() is not None:
        return
    p.terminate()
    try:
        p.wait(timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait(timeout)


class Sgd:
    """The sgd process, with group p (the pool case) registered. Every other case gets fresh
    groups on a fresh node (see case_groups), so a case never meets upstream connections a
    previous case left in sgd's pool."""

    def __init__(self, binary, tmp, node_p1, node_p2, verbose, extra_args=()):
        self.binary, self.tmp, self.verbose = binary, tmp, verbose
        self.extra_args = list(extra_args)
        self.node_p1, self.node_p2 = node_p1, node_p2
        self.serial = 0
        self.last_status = None
        self.proc = None
        self.starts = 0

    def start(self):
        self.starts += 1
        d = os.path.join(self.tmp, f"sgd{self.starts}")
        os.makedirs(d)
        ready = os.path.join(d, "ready.json")
        self.log_path = os.path.join(d, "sgd.log")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [self.binary, "--admin", "127.0.0.1:0", "--listen", "127.0.0.1:0",
             "--data-dir", os.path.join(d, "data"), "--ready-file", ready,
             "--controller-id", CONTROLLER_ID, "--threads", "2",
             "--log-level", "info" if self.verbose else "warn", "--drain-grace", "0"]
            + self.extra_args,
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT)

        def ready_info():
            if self.proc.poll() is not None:
                raise SetupError(f"sgd exited with {self.proc.returncode}: {self.log_tail()}")
            try:
                with open(ready) as f:
                    return json.load(f)
            except (OSError, ValueError):
                return None
        info = wait_for(ready_info, 20, "sgd ready file")
        host, port = info["admin"].rsplit(":", 1)
        self.admin = (host, int(port))
        host, port = info["proxy"].rsplit(":", 1)
        self.proxy = (host, int(port))
        self.controller_id = info.get("controllerId", CONTROLLER_ID)
        self.register("p", "pn", self.node_p1.port)
        self.wait_routable("p")

    def case_groups(self, node):
        """A make_group for Target: case group "g" -> a new group on node, "t" -> a new group
        whose baseUrl has the path prefix /tenantA."""
        made = []

        def make(name):
            self.serial += 1
            group = f"c{self.serial}{name}"
            self.register(group, "n1", node.port, "/tenantA" if name == "t" else "")
            self.wait_routable(group)
            made.append(group)
            return group
        return make, made

    def drop_groups(self, groups):
        for g in groups:
            try:
                admin_call(self.admin, "DELETE", f"/api/server-groups/{g}?force=true")
            except OSError:
                pass

    def register(self, group, name, port, prefix="", health_port=None):
        st, body = admin_call(self.admin, "PUT", f"/api/server-groups/{group}",
                              {"healthCheck": {"intervalMs": 500}})
        if st not in (200, 201):
            raise SetupError(f"PUT group {group}: {st} {body}")
        hp = health_port or port
        st, body = admin_call(self.admin, "POST", f"/api/server-groups/{group}/nodes",
                              {"name": name, "baseUrl": f"http://127.0.0.1:{port}{prefix}",
                               "healthUrl": f"http://127.0.0.1:{hp}{HEALTH_PATH}"})
        if st not in (200, 201):
            raise SetupError(f"register {group}/{name}: {st} {body}")
        self.last_status = body.get("status") if isinstance(body, dict) else None
        return st, body

    def wait_routable(self, group, timeout=10):
        if self.last_status == "healthy":  # registration checks the node before answering
            return

        def healthy():
            st, body = admin_call(self.admin, "GET", f"/api/server-groups/{group}/nodes")
            return st == 200 and body["nodes"] and all(
                n["status"] == "healthy" for n in body["nodes"])
        wait_for(healthy, timeout, f"group {group} healthy", interval=0.05)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, n=3000):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-n:].decode(errors="replace")
        except OSError:
            return ""

    def stop(self):
        stop_process(self.proc, "sgd")
        if getattr(self, "log", None):
            self.log.close()


HAPROXY_CFG = """\
global
    tune.bufsize 66560
    maxconn 256
defaults
    mode http
    option http-keep-alive
    timeout connect 2s
    timeout client 5s
    timeout server 5s
    timeout tunnel 5s
    timeout http-request 3s
    timeout http-keep-alive 5s
frontend fe
    bind fd@{fd}
    http-request deny deny_status 404 unless {{ path_beg /groups/g/ /groups/t/ }}
    http-request replace-path ^/groups/t(/.*)?$ /tenantA\\1 if {{ path_beg /groups/t/ }}
    http-request replace-path ^/groups/g(/.*)?$ \\1 if {{ path_beg /groups/g/ }}
    default_backend be
backend be
    http-reuse always
    server n1 127.0.0.1:{port}
"""


class Haproxy:
    def __init__(self, binary, tmp, node):
        self.binary, self.tmp, self.node = binary, tmp, node
        self.proc = None

    def start(self):
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.bind(("127.0.0.1", 0))
        ls.listen(128)
        self.addr = ls.getsockname()
        cfg = os.path.join(self.tmp, "haproxy.cfg")
        with open(cfg, "w") as f:
            f.write(HAPROXY_CFG.format(fd=ls.fileno(), port=self.node.port))
        self.log_path = os.path.join(self.tmp, "haproxy.log")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([self.binary, "-db", "-f", cfg], pass_fds=(ls.fileno(),),
                                     stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        ls.close()  # haproxy has its own copy

        def answers():
            if self.proc.poll() is not None:
                raise SetupError(f"haproxy exited with {self.proc.returncode}: "
                                 f"{open(self.log_path).read()[-2000:]}")
            try:
                with Client(self.addr, 0.5) as c:
                    r = c.request(build("GET", "/groups/g/__ready"))
                    return r.status == 200
            except OSError:
                return False
        wait_for(answers, 10, "haproxy answering")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        stop_process(self.proc, "haproxy")
        if getattr(self, "log", None):
            self.log.close()


# --- runner -----------------------------------------------------------------------------------

def fmt_expected(e):
    return "|".join(e) if isinstance(e, (tuple, list, set)) else e


def run_case(case, target):
    for n in target.nodes:
        n.begin_case(case.name)
    try:
        out = case.fn(target)
    except Exception as e:  # a bug in the case or an unexpected socket error
        from cases import Outcome
        out = Outcome("exception", [f"{type(e).__name__}: {e}",
                                    traceback.format_exc(limit=3)])
    if case.linger:
        for n in target.nodes:
            n.wait_error(case.linger)
    for c in target.clients:
        for e in c.errors:
            out.problems.append(f"client h11: {e}")
    for n in target.nodes:
        _, errs = n.snapshot()
        for (_, cid, msg, raw) in errs:
            out.problems.append(f"node {n.name} conn {cid}: {msg}; bytes {raw[-300:]!r}")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sgd", required=True)
    ap.add_argument("--haproxy", default="/usr/sbin/haproxy")
    ap.add_argument("--only", default="", help="comma-separated group or case names")
    ap.add_argument("--no-haproxy", action="store_true", help="skip the reference")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()

    import cases
    selected = cases.select(args.only)
    if args.list:
        for c in cases.CASES:
            print(f"{c.group:10} {c.name:24} expected {fmt_expected(c.expected)}")
        return 0
    if not selected:
        print(f"no case matches --only {args.only!r}", file=sys.stderr)
        return 2

    def on_term(*_):
        raise SystemExit(3)
    signal.signal(signal.SIGTERM, on_term)

    tmp = tempfile.mkdtemp(prefix="sgd-conformance-")
    nodes = []
    sgd = hap = None
    t0 = time.monotonic()
    try:
        node_p1, node_p2, node_h = (StrictNode(n) for n in ("P1", "P2", "H"))
        nodes = [node_p1, node_p2, node_h]
        sgd = Sgd(args.sgd, tmp, node_p1, node_p2, args.verbose)
        sgd.start()
        if not args.no_haproxy:
            hap = Haproxy(args.haproxy, tmp, node_h)
            hap.start()

        rows, failures = [], 0
        for case in selected:
            # sgd
            node_s = StrictNode("S")
            make, made = sgd.case_groups(node_s)
            st = Target("sgd", sgd.proxy, node_s, make, sgd=sgd, node_p1=node_p1,
                        node_p2=node_p2, controller_id=sgd.controller_id)
            st.nodes = [node_s, node_p1, node_p2]
            so = run_case(case, st)
            if not sgd.alive():
                so.problems.append(f"sgd died (exit {sgd.proc.returncode}); log: "
                                   f"{sgd.log_tail()}")
                so.decision += "+crash"
                sgd.start()
            else:
                sgd.drop_groups(made)
            node_s.close()
            ok = so.decision in case.expected_set and not so.problems
            failures += not ok
            # haproxy
            if hap is None:
                hd, hprob = "-", []
            elif case.sgd_only:
                hd, hprob = "n/a", []
            else:
                ho = run_case(case, Target("haproxy", hap.addr, node_h, hap=hap))
                hd, hprob = ho.decision, ho.problems
                so.haproxy_notes = ho.notes
                if not hap.alive():
                    hprob.append("haproxy died")
                    hap.start()
                if hprob:
                    hd += "*"
            rows.append((case, hd, hprob, so, ok))
            if args.verbose:
                print(f"[{'PASS' if ok else 'FAIL'}] {case.name}: sgd {so.decision} "
                      f"haproxy {hd} expected {fmt_expected(case.expected)}", flush=True)

        w = max(len(r[0].name) for r in rows)
        wh = max([18] + [len(r[1]) for r in rows])
        ws = max([18] + [len(r[3].decision) for r in rows])
        we = max([16] + [len(fmt_expected(r[0].expected)) for r in rows])
        print(f"\n{'case':{w}} | {'haproxy':{wh}} | {'sgd':{ws}} | {'expected':{we}} | result")
        print("-" * (w + wh + ws + we + 18))
        for case, hd, hprob, so, ok in rows:
            print(f"{case.name:{w}} | {hd:{wh}} | {so.decision:{ws}} | "
                  f"{fmt_expected(case.expected):{we}} | {'ok' if ok else 'FAIL'}")
        print("(* = HAProxy's answer differs from the RFC expectation in detail, see below)")
        print()
        for case, hd, hprob, so, ok in rows:
            hnotes = getattr(so, "haproxy_notes", []) if args.verbose else []
            if not ok or (args.verbose and (so.notes or hprob or hnotes)):
                print(f"== {case.name} ({case.group}): {case.doc}")
                for p in so.problems:
                    print(f"   sgd problem: {p}")
                for n in so.notes:
                    print(f"   sgd note: {n}")
            if hprob and (args.verbose or not ok):
                for p in hprob:
                    print(f"   haproxy: {p}")
            for n in hnotes:
                print(f"   haproxy note: {n}")
        print(f"\n{len(rows) - failures}/{len(rows)} cases pass for sgd "
              f"({time.monotonic() - t0:.1f} s)")
        return 1 if failures else 0
    except SetupError as e:
        print(f"setup error: {e}", file=sys.stderr)
        if sgd and args.verbose:
            print(sgd.log_tail(), file=sys.stderr)
        return 2
    finally:
        if hap:
            hap.stop()
        if sgd:
            sgd.stop()
        for n in nodes:
            n.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

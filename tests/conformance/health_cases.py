"""The `health` group: sgd's health checker (and its alert webhook) against the strict h11 node,
with HAProxy 2.6's checker (`option httpchk`, `http-check send|expect`, `check inter fall rise`)
run on the same answers where it has an equivalent.

A case gets a fresh StrictNode whose answers to the check requests are scripted as raw bytes.
For sgd it registers a fresh group (`PUT /api/server-groups/{g}` with the case's healthCheck)
and the node (`POST .../nodes`), then reads the node's view (`GET .../nodes/{id}`: status,
consecutiveFailures, lastCheck). For HAProxy it starts a small HAProxy whose only backend checks
the node with the equivalent settings, and reads `show stat` on its stats socket. Both views are
mapped to the same words: the last check's verdict (pass | fail | drain) and the node's state
(healthy | degraded | unhealthy | draining; HAProxy: UP | UP n/m going down | DOWN | NOLB).
A case's decision is usually `verdict/state` once a check after the first has been judged.

Every wait is a condition with a deadline (never a fixed sleep); checks run every 200-300 ms.
"""
import http.client
import itertools
import json
import os
import socket
import statistics
import subprocess
import time

from cases import Outcome, case, chunk, LAST
from strict_node import Reply, StrictNode

GROUP = "health"
# Where timing is not the point: checks often enough for a quick group, and a timeout with room
# for a loaded 2-core CI machine (a spurious timeout would turn a pass into a failure).
HC = {"intervalMs": 400, "timeoutMs": 350, "unhealthyAfter": 3, "healthyAfter": 1}
CHECK_PATH = "/hc/check?probe=1"
_serial = itertools.count(1)


def until(pred, timeout, interval=0.02):
    """Poll pred() until it returns something truthy (returned) or timeout (returns None)."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            return None
        time.sleep(interval)  # polling interval of a condition wait


def ok_answer(body=b"ok", status="200 OK", headers=(), keep_open=False):
    head = f"HTTP/1.1 {status}\r\n".encode()
    for k, v in headers:
        head += f"{k}: {v}\r\n".encode()
    return Reply([head + f"Content-Length: {len(body)}\r\n\r\n".encode() + body],
                 keep_open=keep_open)


# --- the checked node and the two checkers ---------------------------------------------------

class Obs:
    """One look at a checker's view of the node."""

    def __init__(self, verdict, state, error="", http_status=None, cf=None, body=None,
                 fresh=None, busy=False, raw=None):
        self.verdict, self.state, self.error = verdict, state, error
        self.http_status, self.cf, self.body = http_status, cf, body
        self.fresh = fresh   # changes with every judged check (sgd: lastCheck.at)
        self.busy = busy     # HAProxy: a check is in progress
        self.raw = raw

    def decision(self):
        return f"{self.verdict}/{self.state}"

    def __repr__(self):
        return (f"<{self.decision()} http={self.http_status} cf={self.cf} "
                f"error={self.error!r} body={self.body!r}>")


def http_get_raw(addr, path, timeout=5.0):
    c = http.client.HTTPConnection(addr[0], addr[1], timeout=timeout)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def strict_json(raw):
    """(value, None) or (None, why): raw must be valid UTF-8 and strict JSON."""
    try:
        text = raw.decode("utf-8", errors="strict")
    except UnicodeDecodeError as e:
        return None, f"not UTF-8: {e}"
    try:
        return json.loads(text, strict=True), None
    except ValueError as e:
        return None, f"not strict JSON: {e}"


class SgdChecker:
    def __init__(self, t, node, hc, health_path=CHECK_PATH, base_prefix="", name="hn"):
        from conformance import admin_call
        self.t, self.sgd = t, t.sgd
        self.sgd.serial += 1
        self.group = f"hc{self.sgd.serial}"
        self.problems = []
        st, body = admin_call(self.sgd.admin, "PUT", f"/api/server-groups/{self.group}",
                              {"healthCheck": hc})
        if st not in (200, 201):
            raise RuntimeError(f"PUT group {self.group} {hc}: {st} {body}")
        reg = {"name": name, "baseUrl": f"http://127.0.0.1:{node.port}{base_prefix}"}
        if health_path is not None:
            reg["healthUrl"] = f"http://127.0.0.1:{node.port}{health_path}"
        st, body = admin_call(self.sgd.admin, "POST",
                              f"/api/server-groups/{self.group}/nodes", reg)
        if st not in (200, 201) or not isinstance(body, dict):
            raise RuntimeError(f"register {reg}: {st} {body}")
        self.node_id = body["nodeId"]
        self.registered = body

    def observe(self):
        st, raw = http_get_raw(self.sgd.admin,
                               f"/api/server-groups/{self.group}/nodes/{self.node_id}")
        v, why = strict_json(raw)
        if st != 200 or v is None:
            p = f"node view {st}: {why or ''} {raw[:300]!r}"
            if p not in self.problems:
                self.problems.append(p)
            return Obs("?", "?", raw=raw)
        lc = v.get("lastCheck") or {}
        err = lc.get("error") or ""
        state = v.get("status")
        verdict = "none" if not lc else "fail" if err else \
            "drain" if state == "draining" else "pass"
        return Obs(verdict, state, err, lc.get("httpStatus"), v.get("consecutiveFailures"),
                   lc.get("body"), lc.get("at"), raw=raw)

    def close(self):
        from conformance import admin_call
        try:
            admin_call(self.sgd.admin, "DELETE", f"/api/server-groups/{self.group}?force=true")
        except OSError:
            pass


def status_regex(expect):
    """HAProxy `rstatus` regex for an sgd expectStatus list (codes and "lo-hi" ranges)."""
    alts = []
    for e in expect:
        lo, _, hi = str(e).partition("-")
        lo, hi = int(lo), int(hi or lo)
        if lo % 100 == 0 and hi == lo + 99:
            alts.append(f"{lo // 100}[0-9][0-9]")
        else:
            alts.extend(str(c) for c in range(lo, hi + 1))
    return "^(" + "|".join(alts) + ")$"


HAP_CHECK_CFG = """\
global
    stats socket {sock} level admin
    maxconn 64
defaults
    mode {mode}
    timeout connect {timeout}ms
    timeout client 5s
    timeout server 5s
    timeout check {timeout}ms
backend be
{checks}
    server n1 127.0.0.1:{port} check inter {interval} fall {fall} rise {rise}
"""


class HapChecker:
    """A HAProxy whose one backend server is the case's node, checked like sgd would."""

    def __init__(self, t, node, hc, health_path=CHECK_PATH):
        hap = t.hap
        self.dir = os.path.join(hap.tmp, f"hcheck{next(_serial)}")
        os.makedirs(self.dir)
        self.sock = os.path.join(self.dir, "stats.sock")
        self.problems = []
        if hc.get("type") == "tcp":
            mode, checks = "tcp", ""
        else:
            mode = "http"
            lines = ["    option httpchk",
                     f"    http-check send meth GET uri {health_path} ver HTTP/1.1 "
                     f"hdr Host 127.0.0.1:{node.port}",
                     "    http-check expect rstatus "
                     + status_regex(hc.get("expectStatus", ["200-299"]))]
            if hc.get("expectBody"):
                lines.append(f"    http-check expect string {hc['expectBody']}")
            checks = "\n".join(lines)
        cfg = os.path.join(self.dir, "haproxy.cfg")
        with open(cfg, "w") as f:
            f.write(HAP_CHECK_CFG.format(sock=self.sock, mode=mode, timeout=hc["timeoutMs"],
                                         checks=checks, port=node.port,
                                         interval=hc["intervalMs"],
                                         fall=hc.get("unhealthyAfter", 3),
                                         rise=hc.get("healthyAfter", 1)))
        self.log = open(os.path.join(self.dir, "haproxy.log"), "wb")
        self.proc = subprocess.Popen([hap.binary, "-db", "-f", cfg], stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        if not until(lambda: self.proc.poll() is not None or self._stat(), 10):
            raise RuntimeError("check HAProxy did not open its stats socket")
        if self.proc.poll() is not None:
            raise RuntimeError(f"check HAProxy exited {self.proc.returncode}: "
                               f"{open(self.log.name, 'rb').read()[-1500:]!r}")

    def _stat(self):
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(2)
            s.connect(self.sock)
        except OSError:
            return None
        try:
            s.sendall(b"show stat\n")
            out = b""
            while True:
                d = s.recv(65536)
                if not d:
                    break
                out += d
        except OSError:
            return None
        finally:
            s.close()
        lines = out.decode("latin-1").splitlines()
        if not lines or not lines[0].startswith("# "):
            return None
        names = lines[0][2:].split(",")
        for line in lines[1:]:
            if line.startswith("be,n1,"):
                return dict(zip(names, line.split(",")))
        return None

    def observe(self):
        row = self._stat()
        if row is None:
            return Obs("?", "?")
        cs = row.get("check_status", "")
        busy = cs.startswith("* ")
        cs = cs[2:] if busy else cs
        st = row.get("status", "")
        state = ("healthy" if st == "UP" else "degraded" if st.startswith("UP ")
                 else "unhealthy" if st.startswith("DOWN")
                 else "draining" if st in ("NOLB", "DRAIN") else st)
        verdict = ("none" if cs in ("", "INI", "UNK") else
                   "pass" if cs in ("L4OK", "L6OK", "L7OK", "L7OKC") else "fail")
        code = row.get("check_code", "")
        err = "" if verdict == "pass" else \
            f"{cs} {code} {row.get('check_desc', '')}: {row.get('last_chk', '')}"
        return Obs(verdict, state, err, int(code) if code.isdigit() else None,
                   None, None, None, busy, raw=row)

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()


class Checked:
    """A fresh strict node checked by the target's checker. answer(i, req) scripts the answer to
    the i-th check request (0-based); the node records every request and connection."""

    def __init__(self, t, answer, hc, health_path=CHECK_PATH, sgd_kw=None):
        self.t = t
        self.hc = dict(HC, **hc)
        self.node = StrictNode("HC")
        t.nodes.append(self.node)   # the runner reports its h11 errors
        self.replies = []
        self.answer = answer

        def handler(req):
            i = len(self.replies)
            r = answer(i, req) if answer else ok_answer()
            self.replies.append(r)
            return r
        self.node.begin_case("health", handler)
        self.checker = None
        try:
            if t.kind == "sgd":
                self.checker = SgdChecker(t, self.node, self.hc, health_path, **(sgd_kw or {}))
                self.first_fresh = self.checker.observe().fresh
            else:
                self.checker = HapChecker(t, self.node, self.hc, health_path)
                self.first_fresh = None
        except Exception:
            self.node.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    def close(self):
        if self.checker:
            self.checker.close()
        self.node.close()

    @property
    def problems(self):
        return self.checker.problems

    def requests(self):
        return self.node.snapshot()[0]

    def observe(self):
        return self.checker.observe()

    def judged(self, n=2, timeout=3.0):
        """The view once the node has answered n check requests and a check after the first
        has been judged (sgd: lastCheck.at differs from the registration's; HAProxy: the check
        running when the n-th request arrived has finished)."""
        self.node.wait_requests(n, timeout)
        if len(self.requests()) < n:
            o = self.observe()
            self.problems.append(f"only {len(self.requests())} check requests in {timeout} s "
                                 f"(wanted {n}); view {o}")
            return o

        def done():
            o = self.observe()
            if self.t.kind == "sgd":
                return o if o.fresh is not None and o.fresh != self.first_fresh else None
            return o if not o.busy and o.verdict != "none" else None
        o = until(done, timeout)
        if o is None:
            o = self.observe()
            self.problems.append(f"no judged check after {n} requests; view {o}")
        return o


def verdict_case(t, answer, hc, want_status=None, error_has=None, n=2, health_path=CHECK_PATH):
    """The common shape: script the answers, wait for a judged check after the first, decide
    `verdict/state`; optionally check lastCheck.httpStatus and words in the error."""
    with Checked(t, answer, hc, health_path) as c:
        o = c.judged(n)
        p = list(c.problems)
        # HAProxy reports no code when an `expect string` rule failed
        if want_status is not None and o.http_status != want_status and \
                (t.kind == "sgd" or o.http_status is not None):
            p.append(f"judged HTTP status {o.http_status}, the final answer was {want_status}")
        if error_has and o.verdict == "fail" and not any(w in o.error.lower()
                                                          for w in error_has):
            p.append(f"error {o.error!r} does not mention {' or '.join(error_has)}")
        notes = [f"view {o}"]
    return Outcome(o.decision(), p, notes)


# ============================================================================== the request

def _check_request(t, r, port, want_target, reply, closed_at):
    p = []
    if r.method != "GET":
        p.append(f"method {r.method}")
    if r.target != want_target:
        p.append(f"target {r.target!r}, healthUrl says {want_target!r}")
    if r.http_version != "1.1":
        p.append(f"HTTP/{r.http_version}")
    hosts = r.header("host")
    if hosts != [f"127.0.0.1:{port}"]:
        p.append(f"Host {hosts}, want ['127.0.0.1:{port}']")
    conn = [v.strip().lower() for v in ",".join(r.header("connection")).split(",") if v.strip()]
    if "close" not in conn:
        p.append(f"Connection {r.header('connection')}")
    if r.header("transfer-encoding"):
        p.append(f"Transfer-Encoding {r.header('transfer-encoding')}")
    if r.body or any(v.strip() != "0" for v in r.header("content-length")):
        p.append(f"body {r.body!r} / Content-Length {r.header('content-length')}")
    if t.kind == "sgd" and r.header("user-agent") != ["sgd-health-check"]:
        p.append(f"User-Agent {r.header('user-agent')}")
    sent = reply.sent_at[-1] if reply.sent_at else None
    if closed_at is None:
        p.append("connection still open 1 s after the answer (the node keeps it open; the "
                 "checker must close)")
    elif sent is not None and closed_at - sent > 0.5:
        p.append(f"connection closed {closed_at - sent:.2f} s after the answer")
    return p


def _request_case(t, health_path, want_target, hc=None, sgd_kw=None):
    def answer(i, req):
        return ok_answer(b"ok", keep_open=True)
    with Checked(t, answer, hc or {}, health_path, sgd_kw) as c:
        reqs = c.node.wait_requests(2, 3.0)
        p = list(c.problems)
        if len(reqs) < 2:
            return Outcome("no-checks", p + [f"{len(reqs)} check requests"])
        for i, r in enumerate(reqs[:2]):
            closed = until(lambda: c.node.peer_closed_at.get(r.cid), 1.0)
            for q in _check_request(t, r, c.node.port, want_target, c.replies[i], closed):
                p.append(f"check {i + 1}: {q}")
            with c.node.lock:
                raw = bytes(c.node.conn_raw.get(r.cid, b""))
            if raw != r.raw:
                p.append(f"check {i + 1}: bytes beyond the request on its connection: "
                         f"{raw[len(r.raw):][:120]!r}")
        notes = [f"check request bytes: {reqs[0].raw!r}"]
    return Outcome("ok" if not p else "bad", p, notes)


@case("hc_request", GROUP, "ok")
def hc_request(t):
    """The check request as the node's h11 sees it, for the registration's check and the next
    scheduled one: parses cleanly, `GET` with exactly the healthUrl's target including its query
    (`/hc/req?probe=1&x=%41b`), HTTP/1.1, one `Host: 127.0.0.1:PORT`, `Connection: close`, no
    body and no Transfer-Encoding, `User-Agent: sgd-health-check` (sgd only); the node keeps the
    connection open after its answer and the checker closes it, with nothing after the
    request. HAProxy is given the Host with `http-check send hdr Host` (it sends none of its
    own) and adds `Connection: close` itself."""
    return _request_case(t, "/hc/req?probe=1&x=%41b", "/hc/req?probe=1&x=%41b")


@case("hc_request_path", GROUP, "ok", sgd_only=True)
def hc_request_path(t):
    """`healthCheck.path` `/ready?deep=1` with a node whose baseUrl is `http://127.0.0.1:PORT/
    tenantA` and no healthUrl: the check asks for `/tenantA/ready?deep=1`, otherwise as in
    hc_request."""
    return _request_case(t, None, "/tenantA/ready?deep=1", {"path": "/ready?deep=1"},
                         {"base_prefix": "/tenantA"})


@case("hc_tcp", GROUP, "pass/healthy")
def hc_tcp(t):
    """`type: tcp`: a connection that the node accepts passes; the checker writes no byte and
    closes the connection itself. HAProxy (`check` in mode tcp: L4OK) aborts its connect-only
    check with a reset before the node's accept() returns, so for it only the verdict counts."""
    with Checked(t, None, {"type": "tcp"}) as c:
        n = until(lambda: len(c.node.opened_at) >= 2 and len(c.node.peer_closed_at) >= 2 and
                  c.node.opened_at, 3.0)
        o = c.observe()
        if t.kind == "sgd":
            o = until(lambda: (lambda v: v if v.fresh != c.first_fresh else None)(c.observe()),
                      2.0) or o
        p = list(c.problems)
        if not n and t.kind == "sgd":
            p.append(f"{len(c.node.opened_at)} connections, {len(c.node.peer_closed_at)} "
                     f"closed by the checker")
        with c.node.lock:
            sent = {cid: bytes(b) for cid, b in c.node.conn_raw.items() if b}
        if sent:
            p.append(f"bytes on a tcp check: {sent}")
    return Outcome(o.decision(), p, [f"view {o}"])


# ============================================================================== verdicts

NEEDLE = "node-is-READY"


@case("hc_content_length", GROUP, "pass/healthy")
def hc_content_length(t):
    """200 with a Content-Length body holding expectBody; the node keeps the connection open,
    so the checker must frame the body by its length, not wait for EOF."""
    return verdict_case(t, lambda i, r: ok_answer(f"status: {NEEDLE}\n".encode(),
                                                   keep_open=True),
                        {"expectBody": NEEDLE}, 200)


@case("hc_status_range", GROUP, "pass/healthy")
def hc_status_range(t):
    """expectStatus `[200, "300-399"]` and a 302 (with Location): passes (HAProxy: `rstatus
    ^(200|3[0-9][0-9])$`)."""
    return verdict_case(t, lambda i, r: ok_answer(b"moved", "302 Found",
                                                   [("Location", "/elsewhere")], True),
                        {"expectStatus": [200, "300-399"]}, 302)


@case("hc_chunked_paced", GROUP, "pass/healthy")
def hc_chunked_paced(t):
    """200 chunked in three chunks written 15 ms apart, expectBody only in the last one, the
    connection kept open by the node: the checker decodes the chunks and passes."""
    def answer(i, req):
        return Reply([b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", chunk(b"status: "),
                      0.015, chunk(b"node-is-"), 0.015, chunk(b"READY\n") + LAST],
                     keep_open=True)
    return verdict_case(t, answer, {"expectBody": NEEDLE}, 200)


@case("hc_eof_body", GROUP, "pass/healthy")
def hc_eof_body(t):
    """200 with neither Content-Length nor Transfer-Encoding: the body runs to the node's close
    (two writes 15 ms apart); expectBody in the second write passes."""
    def answer(i, req):
        return Reply([b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nstatus: ", 0.015,
                      NEEDLE.encode() + b"\n"], close=True)
    return verdict_case(t, answer, {"expectBody": NEEDLE}, 200)


def _big_body(needle_end):
    body = bytearray(b"a" * 20000)
    start = needle_end - len(NEEDLE)
    body[start:needle_end] = NEEDLE.encode()
    return bytes(body)


@case("hc_body_16k_edge", GROUP, "pass/healthy")
def hc_body_16k_edge(t):
    """A 20000-byte body whose expectBody ends exactly at byte 16384: inside the first 16 KiB,
    passes. HAProxy's check buffer (tune.bufsize 16384) also holds the status line and headers,
    so it does not see this far into the body."""
    body = _big_body(16384)
    return verdict_case(t, lambda i, r: ok_answer(body), {"expectBody": NEEDLE}, 200)


@case("hc_body_past_16k", GROUP, "fail/unhealthy")
def hc_body_past_16k(t):
    """The same body with expectBody straddling byte 16384 (its last byte is byte 16385): not
    within the first 16 KiB, fails."""
    body = _big_body(16385)
    return verdict_case(t, lambda i, r: ok_answer(body), {"expectBody": NEEDLE}, 200)


@case("hc_204", GROUP, "pass/healthy")
def hc_204(t):
    """`204 No Content` with expectStatus `[204]`, the node keeping the connection open: a 204
    has no body (RFC 9110 §15.3.5), so the checker must not wait for one."""
    return verdict_case(t, lambda i, r: Reply([b"HTTP/1.1 204 No Content\r\n\r\n"],
                                              keep_open=True),
                        {"expectStatus": [204]}, 204)


@case("hc_418_drain", GROUP, "drain/draining", sgd_only=True)
def hc_418_drain(t):
    """418 (outside expectStatus) on every check: the node asks to drain; no check failure is
    counted (HAProxy has no such answer; its nearest is `http-check disable-on-404`)."""
    def answer(i, req):
        return ok_answer(b"draining", "418 I'm a teapot")
    return verdict_case(t, answer, {}, 418)


@case("hc_500_after_3", GROUP, "healthy>degraded>unhealthy")
def hc_500_after_3(t):
    """The node answers 200 to the first 3 checks, then 500: healthy, degraded after the 1st and
    2nd failure (consecutiveFailures 1, 2), unhealthy at the 3rd (HAProxy, fall 3: UP, UP 1/3,
    UP 2/3, DOWN). The decision lists the states seen from the 3rd passing check on."""
    def answer(i, req):
        if i < 3:
            return ok_answer(b"fine")
        return ok_answer(b"broken", "500 Internal Server Error")
    with Checked(t, answer, {"intervalMs": 300, "timeoutMs": 250}) as c:
        o = c.judged(3)
        p = list(c.problems)
        states, seen = [o.state], [(o.state, o.cf, len(c.replies))]

        def step():
            v = c.observe()
            if v.state != states[-1]:
                states.append(v.state)
            seen.append((v.state, v.cf, len(c.replies)))
            return v.state == "unhealthy" or v.state == "?"
        until(step, 4.0)
        last = c.observe()
        for st, cf, served in seen:
            if t.kind == "sgd":
                if st == "degraded" and cf not in (1, 2):
                    p.append(f"degraded with consecutiveFailures {cf}")
                if st == "unhealthy" and (cf or 0) < 3:
                    p.append(f"unhealthy with consecutiveFailures {cf}")
            if st == "unhealthy" and served - 3 < 3:
                p.append(f"unhealthy after {served - 3} answers of 500")
        if last.http_status != 500:
            p.append(f"last judged status {last.http_status}")
        if last.verdict != "fail" or "500" not in last.error:
            p.append(f"last check {last}")
    return Outcome(">".join(states), p, [f"last view {last}"])


# ============================================================================== misbehaving

@case("hc_stall_after_headers", GROUP, "fail/unhealthy")
def hc_stall_after_headers(t):
    """The node sends `200 OK` with `Content-Length: 10`, then nothing for 0.5 s (timeoutMs
    100, intervalMs 300): the answer is not complete within the timeout, so the check fails and
    its error says it timed out; the checks go on every interval (± 10 % jitter) from the start
    of the previous one, so the gaps between check requests stay near 300 ms. HAProxy 2.6
    judges `http-check expect status` as soon as the header is in, and passes."""
    hc = {"intervalMs": 300, "timeoutMs": 100}

    def answer(i, req):
        return Reply([b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", 0.5, b"0123456789"],
                     close=True)
    with Checked(t, answer, hc) as c:
        o = c.judged(6, timeout=4.0)
        p = list(c.problems)
        if o.verdict == "fail" and not any(w in o.error.lower() for w in ("timed out",
                                                                           "timeout")):
            p.append(f"error {o.error!r} does not mention a timeout")
        times = [r.t for r in c.requests()]
        gaps = [round((b - a) * 1000) for a, b in zip(times, times[1:])]
        iv = hc["intervalMs"]
        if len(gaps) >= 3:
            med = statistics.median(gaps)
            if not (0.9 * iv - 40 <= med <= 1.1 * iv + 60):
                p.append(f"median gap between checks {med:.0f} ms (interval {iv} ms): {gaps}")
            if max(gaps) > 1.1 * iv + hc["timeoutMs"] + 150:
                p.append(f"a gap of {max(gaps)} ms between checks: {gaps}")
        notes = [f"view {o}", f"gaps between check requests (ms): {gaps}"]
    return Outcome(o.decision(), p, notes)


@case("hc_stall_in_body", GROUP, "fail/unhealthy")
def hc_stall_in_body(t):
    """expectBody set; the node sends the header (`Content-Length: 22`) and `status: `, then
    nothing for 0.5 s (timeoutMs 100) before the rest holding expectBody: the check fails, and
    its error says it timed out (not that the body lacks the text: the body never finished)."""
    body = f"status: {NEEDLE}\n".encode()

    def answer(i, req):
        return Reply([f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                      + body[:8], 0.5, body[8:]], close=True)
    return verdict_case(t, answer, {"intervalMs": 300, "timeoutMs": 100,
                                    "expectBody": NEEDLE}, error_has=("timed out", "timeout"))


@case("hc_garbage", GROUP, "fail/unhealthy")
def hc_garbage(t):
    """The node answers `SSH-2.0-OpenSSH_9.2\\r\\n` plus binary junk instead of a status line
    and closes: the check fails with an error (and sgd keeps running: the runner checks)."""
    def answer(i, req):
        return Reply([b"SSH-2.0-OpenSSH_9.2\r\n\x00\xff\xfe garbage \x1b[0m\r\n\r\n"], close=True)
    return verdict_case(t, answer, {})


def _interim(final):
    return Reply([b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n" + final],
                 close=True)


@case("hc_interim_103", GROUP, "pass/healthy")
def hc_interim_103(t):
    """`103 Early Hints` then `200 OK`: a 1xx is interim (RFC 9110 §15.2: a client MUST be able
    to parse one or more 1xx responses before the final response, and a user agent MAY ignore
    unexpected 1xx), so the check judges the final 200 and passes with httpStatus 200.
    HAProxy 2.6 judges the 103 (L7STS, code 103) and fails."""
    return verdict_case(t, lambda i, r: _interim(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
                                                  b"\r\nok"), {}, 200)


@case("hc_interim_103_503", GROUP, "fail/unhealthy")
def hc_interim_103_503(t):
    """`103 Early Hints` then `503`: fails, and the judged status (lastCheck.httpStatus) is the
    final 503, not the 103."""
    return verdict_case(t, lambda i, r: _interim(b"HTTP/1.1 503 Service Unavailable\r\n"
                                                  b"Content-Length: 4\r\n\r\nbusy"), {}, 503)


# ============================================================================== lastCheck.body

BAD_BODY = (b'ok "q" \\ tab\tnl\n cr\r nul\x00 esc\x1b[31m del\x7f ff\xff fe\xfe '
            b'c3(\xc3\x28 sur\xed\xa0\x80 over\xc0\xaf cut\xe2\x82 '
            b'emoji\xf0\x9f\x98\x80 caf\xc3\xa9 ')


@case("hc_body_json", GROUP, "ok", sgd_only=True)
def hc_body_json(t):
    """lastCheck.body of an answer holding a quote, a backslash, control characters (NUL, ESC,
    DEL, CR), invalid UTF-8 (0xFF, 0xFE, a bad continuation, an encoded surrogate, an overlong
    form, a cut 3-byte sequence) and a 3-byte `€` straddling byte 128: the node view is valid
    UTF-8 and parses with Python's json in strict mode, the body has no lone surrogates, is at
    most 128 bytes as UTF-8, and keeps the valid text (`"q"`, `\\`, the emoji, `café`)."""
    body = BAD_BODY + b"x" * (126 - len(BAD_BODY)) + b"\xe2\x82\xac tail"
    assert body[126:129] == b"\xe2\x82\xac"
    with Checked(t, lambda i, r: ok_answer(body), {}) as c:
        o = c.judged(2)
        p = list(c.problems)
        v, why = strict_json(o.raw or b"")
        if v is None:
            return Outcome("bad-json", p + [f"view {why}: {(o.raw or b'')[:400]!r}"])
        b = (v.get("lastCheck") or {}).get("body")
        if not isinstance(b, str):
            return Outcome("no-body", p + [f"lastCheck {v.get('lastCheck')}"])
        try:
            enc = b.encode("utf-8")
        except UnicodeEncodeError as e:
            return Outcome("surrogates", p + [f"body {b!r}: {e}"])
        notes = []
        if len(enc) > 128:
            p.append(f"body is {len(enc)} bytes as UTF-8")
        if b.endswith("??") or b.endswith("\ufffd"):
            notes.append("the valid 3-byte \u20ac cut by the 128-byte limit is shown as "
                         f"replacement characters ({b[-4:]!r}), not dropped")
        for want in ('ok "q" \\ tab', "emoji\U0001F600 caf\u00e9 "):
            if want not in b:
                p.append(f"body {b!r} lost {want!r}")
        notes.append(f"lastCheck.body {b!r}")
        ctl = sorted({f"U+{ord(ch):04X}" for ch in b if ord(ch) < 0x20 and ch not in "\t\n"
                      or ord(ch) == 0x7F})
        if ctl:
            notes.append(f"control characters kept (escaped in the JSON): {ctl}")
    return Outcome("ok" if not p else "bad", p, notes)


# ============================================================================== webhook

@case("hc_webhook", GROUP, "ok", sgd_only=True)
def hc_webhook(t):
    """A second sgd with `--alert-webhook http://127.0.0.1:PORT/hooks/sgd?src=conf` and a node
    that passes, then fails (expectBody with a quote, a backslash and `é`, which the event's
    detail quotes): the receiver's h11 gets each event as a POST to exactly that target with
    `Host: 127.0.0.1:PORT`, `Content-Type: application/json`, a Content-Length equal to the
    body's length (no Transfer-Encoding), and a body that is UTF-8 strict JSON (an object); the
    one for healthy -> degraded arrives."""
    from conformance import Sgd, admin_call
    recv = StrictNode("WH")
    t.nodes.append(recv)
    recv.begin_case("webhook", lambda r: ok_answer(b"thanks"))
    d = os.path.join(t.sgd.tmp, f"webhook{next(_serial)}")
    os.makedirs(d)
    target = "/hooks/sgd?src=conf"
    w = Sgd(t.sgd.binary, d, t.node_p1, t.node_p2, False,
            ["--alert-webhook", f"http://127.0.0.1:{recv.port}{target}"])
    node = StrictNode("HCW")
    t.nodes.append(node)
    served = []

    def answer(req):
        served.append(req)
        return ok_answer(b'fine "x\\" \xc3\xa9' if len(served) < 2 else b"nope")
    node.begin_case("webhook", answer)
    p, notes = [], []
    try:
        w.start()
        hc = dict(HC, expectBody='fine "x\\" \u00e9')
        st, body = admin_call(w.admin, "PUT", "/api/server-groups/wh", {"healthCheck": hc})
        if st not in (200, 201):
            return Outcome("setup", [f"PUT group: {st} {body}"])
        st, body = admin_call(w.admin, "POST", "/api/server-groups/wh/nodes",
                              {"name": "whn", "baseUrl": f"http://127.0.0.1:{node.port}",
                               "healthUrl": f"http://127.0.0.1:{node.port}/hc/w"})
        if st not in (200, 201):
            return Outcome("setup", [f"register: {st} {body}"])

        def degraded_event():
            for r in recv.snapshot()[0]:
                v, _ = strict_json(r.body)
                if isinstance(v, dict) and v.get("to") == "degraded":
                    return True
            return False
        got = until(degraded_event, 5.0)
        reqs = recv.snapshot()[0]
        if not reqs:
            return Outcome("no-post", [f"sgd log: {w.log_tail(1500)}"])
        for i, r in enumerate(reqs):
            q = []
            if r.method != "POST":
                q.append(f"method {r.method}")
            if r.target != target:
                q.append(f"target {r.target!r}")
            if r.header("host") != [f"127.0.0.1:{recv.port}"]:
                q.append(f"Host {r.header('host')}")
            ct = [v.split(";")[0].strip().lower() for v in r.header("content-type")]
            if ct != ["application/json"]:
                q.append(f"Content-Type {r.header('content-type')}")
            if r.header("transfer-encoding"):
                q.append(f"Transfer-Encoding {r.header('transfer-encoding')}")
            if r.header("content-length") != [str(len(r.body))]:
                q.append(f"Content-Length {r.header('content-length')}, body {len(r.body)} "
                         "bytes")
            v, why = strict_json(r.body)
            if v is None:
                q.append(f"body {why}: {r.body[:300]!r}")
            elif not isinstance(v, dict):
                q.append(f"body is a JSON {type(v).__name__}")
            p.extend(f"POST {i + 1}: {x}" for x in q)
        if not got:
            p.append(f"no event to degraded among {len(reqs)} POSTs: "
                     f"{[r.body[:200] for r in reqs]}")
        notes.append(f"{len(reqs)} POSTs; first: {reqs[0].raw[:600]!r}")
        for r in reqs:
            v, _ = strict_json(r.body)
            if isinstance(v, dict) and v.get("to") == "degraded":
                notes.append(f"the one to degraded: {r.body[:600]!r}")
                if hc["expectBody"] not in str(v.get("detail")):
                    notes.append("its detail does not quote expectBody verbatim")
                break
    finally:
        w.stop()
        node.close()
        recv.close()
    return Outcome("ok" if not p else "bad", p, notes)

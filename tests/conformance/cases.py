"""The conformance cases. Each case is a function of a Target (sgd or HAProxy) returning an
Outcome: a short decision string (the client's view: "200", "400", "502", "103>200", "closed",
"timeout", "200+trunc", "h11err", ...) plus problems (violations of the case's checks beyond the
decision) and notes. A case passes for sgd when its decision is one of `expected` and there are
no problems (node-side h11 errors are added as problems by the runner).

Where HAProxy 2.6 decides differently from the RFC-derived expectation, the case's docstring says
so; sgd is always held to the expectation.
"""
import socket
import threading
import time

from conformance import build
from strict_node import Reply, simple

CASES = []


class Outcome:
    def __init__(self, decision, problems=None, notes=None):
        self.decision = decision
        self.problems = list(problems or [])
        self.notes = list(notes or [])


class Case:
    def __init__(self, fn, name, group, expected, sgd_only, linger):
        self.fn, self.name, self.group, self.expected = fn, name, group, expected
        self.linger = linger
        self.expected_set = set(expected) if isinstance(expected, (tuple, list, set)) \
            else {expected}
        self.sgd_only = sgd_only
        self.doc = " ".join((fn.__doc__ or "").split())


def case(name, group, expected, sgd_only=False, linger=0.0):
    """linger: after the case, wait this long for late node-side h11 errors (bytes a proxy
    writes after the message it forwarded, e.g. a second last-chunk after a chunked upload)."""
    def deco(fn):
        CASES.append(Case(fn, name, group, expected, sgd_only, linger))
        return fn
    return deco


def select(only):
    if not only:
        return list(CASES)
    want = {w.strip() for w in only.split(",") if w.strip()}
    return [c for c in CASES if c.group in want or c.name in want]


def chunk(data):
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


LAST = b"0\r\n\r\n"
CHUNKED_HELLO = chunk(b"hello") + LAST


def by_path(table, default=None):
    """A node handler choosing the answer by the last path segment."""
    def h(req):
        key = req.target.split("?")[0].rsplit("/", 1)[-1]
        r = table.get(key)
        if r is None:
            return default(req) if default else simple(200, f"ok {req.target}".encode())
        return r() if callable(r) else Reply(list(r.parts), r.close, r.tunnel)
    return h


def settle(node, timeout=0.25):
    """Requests the node has seen in this case, after a short bounded wait for stragglers
    (used where a case asserts that nothing reached the node)."""
    return node.wait_requests(1 << 30, timeout)


def join(*decisions):
    return ",".join(decisions)


# ============================================================================== framing

@case("chunked_answer", "framing", "200,200")
def chunked_answer(t):
    """Node answers chunked `5 hello 0`: exactly one last-chunk reaches the client, and a second
    request on the same client connection gets its own answer."""
    t.node.handler = by_path({"one": Reply([b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked"
                                            b"\r\n\r\n" + CHUNKED_HELLO])},
                             lambda r: simple(200, b"second"))
    p = []
    with t.client() as c:
        r1 = c.request(build("GET", t.path("/one")))
        if r1.body != b"hello":
            p.append(f"first body {r1.body!r}")
        if c.pending():
            p.append(f"bytes after the first answer: {c.pending()[:80]!r}")
        r2 = c.request(build("GET", t.path("/two")))
        if not r2.raw.startswith(b"HTTP/1.1 "):
            p.append(f"second answer starts with {r2.raw[:40]!r}")
        if r2.body != b"second":
            p.append(f"second body {r2.body!r}")
    return Outcome(join(r1.decision(), r2.decision()), p)


@case("chunked_upload", "framing", "200,200", linger=0.2)
def chunked_upload(t):
    """Client uploads chunked `hello`: the node's h11 sees body `hello` with one last chunk; the
    next request (same client connection) is seen by the node as a clean next request."""
    p, n = [], []
    with t.client() as c:
        r1 = c.request(build("POST", t.path("/up1"), [("Transfer-Encoding", "chunked")],
                             CHUNKED_HELLO), "POST")
        r2 = c.request(build("GET", t.path("/up2")))
    reqs = t.node.wait_requests(2)
    if len(reqs) < 2:
        p.append(f"node saw {reqs}")
    else:
        a, b = reqs[0], reqs[1]
        if a.body != b"hello":
            p.append(f"node body {a.body!r}")
        if "chunked" in ",".join(a.header("transfer-encoding")) and a.raw.count(LAST) != 1:
            p.append(f"{a.raw.count(LAST)} last chunks in {a.raw[-60:]!r}")
        if not b.target.endswith("/up2"):
            p.append(f"second request target {b.target}")
        n.append("second request on the same upstream connection" if a.cid == b.cid
                 else "second request on a new upstream connection (pool not exercised)")
    return Outcome(join(r1.decision(), r2.decision()), p, n)


@case("answer_204_te", "framing", "204,200")
def answer_204_te(t):
    """204 with `Transfer-Encoding: chunked` (and no body): nothing follows the header at the
    client; the next request on the connection works."""
    return _no_body(t, "GET", b"HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n")


@case("answer_204_te_body", "framing", "204,200")
def answer_204_te_body(t):
    """204 with `Transfer-Encoding: chunked` followed by chunk bytes from a broken node: the bytes
    must not reach the client (and the upstream connection must not be reused)."""
    return _no_body(t, "GET", b"HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + CHUNKED_HELLO)


@case("answer_304_te", "framing", "304,200")
def answer_304_te(t):
    """304 with `Transfer-Encoding: chunked`: no body bytes at the client."""
    return _no_body(t, "GET", b"HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n")


@case("head_te", "framing", "200,200")
def head_te(t):
    """HEAD whose answer says `Transfer-Encoding: chunked`: no body bytes at the client."""
    return _no_body(t, "HEAD", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")


@case("head_cl", "framing", "200,200")
def head_cl(t):
    """HEAD whose answer says `Content-Length: 5`: no body bytes at the client."""
    return _no_body(t, "HEAD", b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")


def _no_body(t, method, answer):
    t.node.handler = by_path({"nb": Reply([answer])}, lambda r: simple(200, b"second"))
    p = []
    with t.client() as c:
        r1 = c.request(build(method, t.path("/nb")), method)
        if not r1.raw.endswith(b"\r\n\r\n") or r1.body:
            p.append(f"body bytes after the header: {r1.raw[-60:]!r}")
        if c.pending():
            p.append(f"bytes after the answer: {c.pending()[:80]!r}")
        r2 = c.request(build("GET", t.path("/second")))
        if not r2.raw.startswith(b"HTTP/1.1 ") or r2.body != b"second":
            p.append(f"second answer {r2.raw[:80]!r}")
    return Outcome(join(r1.decision(), r2.decision()), p)


@case("head_404_group", "framing", ("404,200", "404,closed"))
def head_404_group(t):
    """HEAD /groups/nonexistent/x: the proxy's own 404 carries no body (HAProxy: its own deny)."""
    return _head_own(t, "/groups/nonexistent/x")


@case("head_404_path", "framing", ("404,200", "404,closed"))
def head_404_path(t):
    """HEAD /nope: the proxy's own 404 carries no body."""
    return _head_own(t, "/nope")


def _head_own(t, path):
    p = []
    with t.client() as c:
        r1 = c.request(build("HEAD", path), "HEAD")
        if r1.body or not r1.raw.endswith(b"\r\n\r\n"):
            p.append(f"body after the header: {r1.raw[-60:]!r}")
        if c.pending():
            p.append(f"bytes after the answer: {c.pending()[:80]!r}")
        if c.h.their_state.__name__ == "MUST_CLOSE":
            return Outcome(join(r1.decision(), "closed"), p)
        try:
            r2 = c.request(build("GET", t.path("/after")))
        except OSError:
            return Outcome(join(r1.decision(), "closed"), p)
        if r2.status and not r2.raw.startswith(b"HTTP/1.1 "):
            p.append(f"second answer starts with {r2.raw[:40]!r}")
    return Outcome(join(r1.decision(), r2.decision()), p)


@case("cl_list_same", "framing", "200")
def cl_list_same(t):
    """Node answers `Content-Length: 2, 2`: forwarded with one `Content-Length: 2` (RFC 9110
    8.6 allows replacing a list of identical values by one)."""
    t.node.handler = lambda r: Reply([b"HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok"])
    p = []
    with t.client() as c:
        r = c.request(build("GET", t.path("/cl22")))
    cls = [ln for ln in r.raw_head().split(b"\r\n")[1:] if ln.lower().startswith(b"content-length")]
    if r.status == 200 and cls != [b"Content-Length: 2"] and cls != [b"content-length: 2"]:
        p.append(f"client got {cls}")
    if r.status == 200 and r.body != b"ok":
        p.append(f"body {r.body!r}")
    return Outcome(r.decision(), p)


@case("cl_list_conflict", "framing", "502")
def cl_list_conflict(t):
    """Node answers `Content-Length: 2, 3`: invalid framing, 502."""
    t.node.handler = lambda r: Reply([b"HTTP/1.1 200 OK\r\nContent-Length: 2, 3\r\n\r\nokk"])
    with t.client() as c:
        r = c.request(build("GET", t.path("/cl23")))
    return Outcome(r.decision())


@case("answer_te_and_cl", "framing", ("200,200", "502,200"))
def answer_te_and_cl(t):
    """Node answers with both `Transfer-Encoding: chunked` and `Content-Length: 5`: 502, or
    forwarded as chunked without Content-Length (RFC 9112 6.3: TE wins; the connection must then
    be closed) - the client never sees both, and the upstream connection is not reused."""
    t.node.handler = by_path({"both": Reply([b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                                             b"Content-Length: 5\r\n\r\n" + CHUNKED_HELLO])},
                             lambda r: simple(200, b"second"))
    p = []
    with t.client() as c:
        r1 = c.request(build("GET", t.path("/both")))
        if r1.header("transfer-encoding") and r1.header("content-length"):
            p.append(f"client got both: {r1.raw_head()!r}")
        if r1.status == 200 and r1.body != b"hello":
            p.append(f"body {r1.body!r}")
        if c.h.their_state.__name__ == "MUST_CLOSE" or c.pending():
            c.close()
            c2 = t.client()
        else:
            c2 = c
        with c2:
            r2 = c2.request(build("GET", t.path("/next")))
    reqs = t.node.wait_requests(2)
    if len(reqs) == 2 and reqs[0].cid == reqs[1].cid:
        p.append("the upstream connection of the contradictory answer was reused")
    return Outcome(join(r1.decision(), r2.decision()), p)


@case("answer_bad_chunk", "framing", "502")
def answer_bad_chunk(t):
    """Node answers chunked with an invalid first chunk-size `zz`: 502."""
    t.node.handler = lambda r: Reply([b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                      b"zz\r\nhello\r\n0\r\n\r\n"])
    with t.client() as c:
        r = c.request(build("GET", t.path("/zz")))
    return Outcome(r.decision())


# ============================================================================== smuggling

def _smuggle(t, te_lines, cl):
    body = CHUNKED_HELLO
    hs = [("Transfer-Encoding", v) for v in te_lines]
    if cl:
        hs.append(("Content-Length", str(len(body))))
    p, n = [], []
    with t.client() as c:
        r = c.request(build("POST", t.path("/smuggle"), hs, body), "POST")
        if r.status == 400:
            n.append("connection closed after the 400" if c.wait_eof(0.5)
                     else "connection left open after the 400")
    seen = settle(t.node)
    if seen:
        p.append(f"forwarded to the node: {seen} raw {seen[0].raw[:200]!r}")
    return Outcome(r.decision(), p, n)


@case("te_xchunked", "smuggling", "400")
def te_xchunked(t):
    """`Transfer-Encoding: xchunked` (chunked not final): 400, nothing forwarded (RFC 9112 6.3)."""
    return _smuggle(t, ["xchunked"], False)


@case("te_xchunked_cl", "smuggling", "400")
def te_xchunked_cl(t):
    """`Transfer-Encoding: xchunked` + `Content-Length`: 400, nothing forwarded."""
    return _smuggle(t, ["xchunked"], True)


@case("te_chunked_identity", "smuggling", "400")
def te_chunked_identity(t):
    """`Transfer-Encoding: chunked, identity`: chunked is not the final coding, 400."""
    return _smuggle(t, ["chunked, identity"], False)


@case("te_chunked_identity_cl", "smuggling", "400")
def te_chunked_identity_cl(t):
    """`Transfer-Encoding: chunked, identity` + `Content-Length`: 400."""
    return _smuggle(t, ["chunked, identity"], True)


@case("te_chunked_cl", "smuggling", "400", linger=0.2)
def te_chunked_cl(t):
    """`Transfer-Encoding: chunked` + `Content-Length`: 400 (project policy; RFC 9112 6.3 also
    allows processing as chunked and closing - HAProxy does that: removes Content-Length and
    forwards, 200)."""
    return _smuggle(t, ["chunked"], True)


@case("te_chunked_chunked", "smuggling", "400")
def te_chunked_chunked(t):
    """`Transfer-Encoding: chunked, chunked` (chunked applied twice, RFC 9112 6.1): 400."""
    return _smuggle(t, ["chunked, chunked"], False)


@case("te_chunked_twice_lines", "smuggling", "400")
def te_chunked_twice_lines(t):
    """Two `Transfer-Encoding: chunked` field lines (= `chunked, chunked`): 400."""
    return _smuggle(t, ["chunked", "chunked"], False)


# ============================================================================== requests

def _reject(t, raw, method="GET", version="1.1", timeout=None):
    p = []
    t0 = time.monotonic()
    with t.client(timeout or 2.5) as c:
        c.send(raw)
        try:
            c.shadow(method, version)
        except Exception:
            pass
        r = c.read_response()
    took = time.monotonic() - t0
    seen = settle(t.node)
    if seen:
        p.append(f"forwarded to the node: {seen}")
    return Outcome(r.decision(), p, [f"answered in {took:.2f} s"]), took


@case("dup_host", "requests", "400")
def dup_host(t):
    """Two Host fields: 400 (RFC 9112 3.2)."""
    return _reject(t, build("GET", t.path("/x"), [("Host", "y")]))[0]


@case("missing_host", "requests", "400")
def missing_host(t):
    """HTTP/1.1 request without Host: 400 (RFC 9112 3.2). HAProxy 2.6 forwards it without Host
    (the strict node then rejects it: 502)."""
    return _reject(t, build("GET", t.path("/x"), host=None))[0]


@case("host_space_colon", "requests", "400")
def host_space_colon(t):
    """`Host : x` (whitespace between field name and colon): 400 (RFC 9112 5.1)."""
    return _reject(t, build("GET", t.path("/x"), host=None).replace(
        b"HTTP/1.1\r\n", b"HTTP/1.1\r\nHost : x\r\n", 1))[0]


@case("obs_fold", "requests", "400")
def obs_fold(t):
    """A header continued by obs-fold: 400 (RFC 9112 5.2 allows 400 or unfolding; project: 400).
    HAProxy unfolds and forwards."""
    return _reject(t, build("GET", t.path("/x"), [b"X-Fold: a", b" b"]))[0]


@case("hash_in_target", "requests", "400")
def hash_in_target(t):
    """`#` in the request target: 400 (not a valid request-target)."""
    return _reject(t, build("GET", t.path("/x#frag")))[0]


@case("nonascii_target", "requests", "400")
def nonascii_target(t):
    """Raw 0xff byte in the request target: 400."""
    return _reject(t, build("GET", t.path("/x") + "\xff"))[0]


@case("bare_lf", "requests", "400")
def bare_lf(t):
    """Request lines ended by bare LF: 400 at once (well within 2 s, not after a header
    timeout). RFC 9112 2.2 lets a recipient accept bare LF - HAProxy does (forwards, 200)."""
    out, took = _reject(t, b"GET " + t.path("/x").encode() + b" HTTP/1.1\nHost: a\n\n")
    if out.decision == "400" and took > 1.5:
        out.problems.append(f"400 only after {took:.1f} s")
    return out


@case("http10_te", "requests", ("400", "200+close"), linger=0.2)
def http10_te(t):
    """HTTP/1.0 request with `Transfer-Encoding: chunked`: 400, or answered and then closed -
    never kept alive (RFC 9112 6.1: MUST treat as faulty framing and close)."""
    with t.client() as c:
        r = c.request(build("POST", t.path("/x"), [("Transfer-Encoding", "chunked")],
                            CHUNKED_HELLO, version="HTTP/1.0"), "POST", "1.0")
        d = r.decision()
        if r.status and r.status != 400 and r.complete:
            d += "+close" if c.wait_eof(1.0) else "+keepalive"
    return Outcome(d)


@case("headers_70k", "requests", "431")
def headers_70k(t):
    """70 KiB of header fields (10 x 7 KiB): 431 (limit 64 KiB). HAProxy (tune.bufsize 65 KiB
    here) answers 400."""
    hs = [(f"X-Big-{i}", "a" * 7168) for i in range(10)]
    return _reject(t, build("GET", t.path("/big"), hs))[0]


@case("headers_60k", "requests", "200")
def headers_60k(t):
    """60 KiB of header fields (10 x 6 KiB): forwarded intact."""
    hs = [(f"X-Big-{i}", "b" * 6144) for i in range(10)]
    p = []
    with t.client() as c:
        r = c.request(build("GET", t.path("/big"), hs))
    reqs = t.node.wait_requests(1)
    if r.status == 200 and (not reqs or reqs[0].header("x-big-9") != ["b" * 6144]):
        p.append("node did not get the big fields intact")
    return Outcome(r.decision(), p)


@case("absolute_form", "requests", "200")
def absolute_form(t):
    """`GET http://host:port/groups/g/abs`: forwarded; the node sees origin-form `/abs`.
    HAProxy forwards the absolute-form as received (allowed, but not what sgd promises)."""
    host = f"{t.addr[0]}:{t.addr[1]}"
    with t.client() as c:
        r = c.request(build("GET", f"http://{host}" + t.path("/abs"), host=host))
    reqs = t.node.wait_requests(1)
    p = [] if (reqs and reqs[0].target == "/abs") else [f"node saw {reqs}"]
    return Outcome(r.decision(), p)


# ============================================================================== routing

def _target_seen(t, path, want, group="g"):
    with t.client() as c:
        r = c.request(build("GET", t.path(path, group)))
    reqs = t.node.wait_requests(1) if r.status and r.status < 500 and r.status != 400 else []
    p = []
    if want is None:
        if reqs:
            p.append(f"forwarded: node saw {reqs[0].target}")
    elif not reqs or reqs[0].target != want:
        p.append(f"node saw {reqs[0].target if reqs else 'nothing'}, expected {want}")
    return Outcome(r.decision(), p)


@case("dot_segments", "routing", "200")
def dot_segments(t):
    """`/groups/g/a/../b`: the node sees `/b` (RFC 3986 5.2.4). HAProxy 2.6 does not normalise
    by default (normalize-uri is experimental) and forwards `/a/../b`."""
    return _target_seen(t, "/a/../b", "/b")


@case("dot_segments_prefix", "routing", "200")
def dot_segments_prefix(t):
    """`/groups/t/a/../b` with baseUrl `.../tenantA`: the node sees `/tenantA/b` (HAProxy: no
    normalisation, `/tenantA/a/../b`)."""
    return _target_seen(t, "/a/../b", "/tenantA/b", group="t")


@case("dot_above_root", "routing", "400")
def dot_above_root(t):
    """`/groups/g/../tenantB/x` climbs above the group root: 400, nothing forwarded (HAProxy
    forwards `/../tenantB/x` as is)."""
    return _target_seen(t, "/../tenantB/x", None)


@case("dot_encoded", "routing", "200")
def dot_encoded(t):
    """`/groups/g/%2e%2e/x`: forwarded with `%2e%2e` left encoded."""
    return _target_seen(t, "/%2e%2e/x", "/%2e%2e/x")


@case("via_added", "routing", "200")
def via_added(t):
    """The node sees `Via: 1.1 <id>` added by the proxy, the client sees a Via on the answer
    (RFC 9110 7.6.3; HAProxy adds none)."""
    p, n = [], []
    with t.client() as c:
        r = c.request(build("GET", t.path("/via")))
    reqs = t.node.wait_requests(1)
    via = ",".join(reqs[0].header("via")) if reqs else ""
    if not via.startswith("1.1 ") and ", 1.1 " not in via:
        p.append(f"node saw Via {via!r}")
    if not r.header("via"):
        p.append("no Via on the answer")
    n.append(f"node Via {via!r}, client Via {r.header('via')}")
    return Outcome(r.decision(), p, n)


def _own_via(t):
    """sgd's own Via entry, learnt from what the node sees (fallback: 1.1 <controller id>)."""
    t.node.handler = lambda r: simple(200, b"ok")
    with t.client() as c:
        c.request(build("GET", t.path("/probe-via")))
    reqs = t.node.wait_requests(1)
    via = reqs[0].header("via") if reqs else []
    t.node.begin_case(t.node.case)
    return via[-1].split(",")[-1].strip() if via else f"1.1 {t.controller_id}"


@case("via_own_508", "routing", "508", sgd_only=True)
def via_own_508(t):
    """A request already carrying sgd's own Via entry: 508 Loop Detected, not forwarded."""
    own = _own_via(t)
    with t.client() as c:
        r = c.request(build("GET", t.path("/loop"), [("Via", f"1.1 other, {own}")]))
    seen = settle(t.node)
    return Outcome(r.decision(), [f"forwarded: {seen}"] if seen else [], [f"sent Via {own!r}"])


@case("via_loop", "routing", "508", sgd_only=True)
def via_loop(t):
    """A node whose baseUrl is sgd's own proxy address: a request gets 508 quickly, sgd stays
    up."""
    sgd = t.sgd
    sgd.register("loopgroup", "self", sgd.proxy[1], "/groups/loopgroup",
                 health_port=t.node.port)
    sgd.wait_routable("loopgroup")
    t0 = time.monotonic()
    with t.client(3.0) as c:
        r = c.request(build("GET", "/groups/loopgroup/x"))
    took = time.monotonic() - t0
    p = []
    if took > 2.0:
        p.append(f"took {took:.1f} s")
    from conformance import admin_call
    try:
        st, _ = admin_call(sgd.admin, "GET", "/api/octopusservernodes/ping", timeout=3)
        if st != 200:
            p.append(f"ping after the loop: {st}")
    except OSError as e:
        p.append(f"ping after the loop: {e}")
    return Outcome(r.decision(), p, [f"answered in {took:.2f} s"])


# ============================================================================== upstream

def _stray(t, method, late):
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    junk = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nEVIL!"
    junk_sent = threading.Event()
    first = [True]

    def h(req):
        if req.target.endswith("/s1") and first[0]:
            first[0] = False
            if late:
                return Reply([answer, 0.15, junk], events={2: junk_sent})
            junk_sent.set()
            return Reply([answer + junk])
        return simple(200, b"own-" + req.method.encode())
    t.node.handler = h
    p, n = [], []
    with t.client() as c:
        r1 = c.request(build("GET", t.path("/s1")))
        if r1.body != b"ok" or c.pending():
            p.append(f"first answer {r1.raw!r} + {c.pending()!r}")
        if not junk_sent.wait(2):
            p.append("node did not get to send its junk")
        body = b"data" if method == "POST" else b""
        hs = [("Content-Length", "4")] if body else []
        r2 = c.request(build(method, t.path("/s2"), hs, body), method)
    if b"EVIL" in r2.raw or r2.body != b"own-" + method.encode():
        p.append(f"second answer {r2.raw!r}")
    reqs = t.node.wait_requests(2)
    if len(reqs) == 2:
        n.append("second request on a new upstream connection" if reqs[0].cid != reqs[1].cid
                 else "second request on the junked upstream connection")
    return Outcome(join(r1.decision(), r2.decision()), p, n)


@case("stray_get", "upstream", "200,200")
def stray_get(t):
    """Node writes its answer plus a second fake answer (`EVIL!`) on a kept connection: the next
    GET gets its own answer, never the junk."""
    return _stray(t, "GET", False)


@case("stray_post", "upstream", "200,200")
def stray_post(t):
    """As stray_get, the next request being a POST with a body."""
    return _stray(t, "POST", False)


@case("stray_late", "upstream", "200,200")
def stray_late(t):
    """The junk arrives 150 ms after the answer, while the upstream connection idles in the
    pool; the next GET (sent after the junk) gets its own answer."""
    return _stray(t, "GET", True)


@case("pool_rebind", "upstream", "P1,P2,P2,P2", sgd_only=True)
def pool_rebind(t):
    """Re-registering node `pn` with another baseUrl (P1 -> P2) while traffic continues on a
    kept client connection: every request after the acknowledgement goes to P2 (the pooled
    connection to P1 is not reused)."""
    sgd, p1, p2 = t.sgd, t.node_p1, t.node_p2
    p1.handler = lambda r: simple(200, b"P1")
    p2.handler = lambda r: simple(200, b"P2")
    where = []
    with t.client() as c:
        r = c.request(build("GET", "/groups/p/a"))
        where.append(r.body.decode() or r.decision())
        sgd.register("p", "pn", p2.port)
        r = c.request(build("GET", "/groups/p/b"))
        where.append(r.body.decode() or r.decision())
        r = c.request(build("GET", "/groups/p/c"))
        where.append(r.body.decode() or r.decision())
    with t.client() as c:
        r = c.request(build("GET", "/groups/p/d"))
        where.append(r.body.decode() or r.decision())
    sgd.register("p", "pn", p1.port)  # back, so the case can be rerun
    return Outcome(",".join(where))


# ============================================================================== interim

def _interims(n, final=b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"):
    return Reply([b"HTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\n" * n + final])


@case("interim_103", "interim", "103>200")
def interim_103(t):
    """Node sends 103 Early Hints then 200: an HTTP/1.1 client gets both."""
    t.node.handler = lambda r: _interims(1)
    with t.client() as c:
        r = c.request(build("GET", t.path("/hints")))
    return Outcome(r.decision(), [] if r.body == b"ok" or r.status != 200 else [f"{r.body!r}"])


@case("interim_103_http10", "interim", "200")
def interim_103_http10(t):
    """The same to an HTTP/1.0 client: only the 200 (RFC 9110 15.2: a server MUST NOT send 1xx
    to an HTTP/1.0 client). HAProxy 2.6 forwards the 103."""
    t.node.handler = lambda r: _interims(1)
    with t.client() as c:
        r = c.request(build("GET", t.path("/hints"), version="HTTP/1.0"), "GET", "1.0")
    return Outcome(r.decision(), [] if b"103" not in r.raw else ["raw 103 reached the client"])


@case("interim_flood", "interim", "103x10>502")
def interim_flood(t):
    """Node sends 50 interim 103s before the 200: sgd forwards the first 10 (RFC 9110 §15.2) and
    then answers 502 (its bound; a final answer may follow interim ones). HAProxy has no such
    bound and forwards all 50."""
    t.node.handler = lambda r: _interims(50)
    with t.client() as c:
        r = c.request(build("GET", t.path("/flood")))
    return Outcome(r.decision())


@case("interim_101_unsolicited", "interim", "502")
def interim_101_unsolicited(t):
    """Node answers 101 Switching Protocols to a request without Upgrade: 502."""
    t.node.handler = lambda r: Reply([b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade"
                                      b"\r\nUpgrade: foo\r\n\r\n"])
    with t.client() as c:
        r = c.request(build("GET", t.path("/u101")))
    return Outcome(r.decision())


def _echo_tunnel(sock, leftover):
    sock.sendall(b"hello-from-node")
    if leftover:
        sock.sendall(b"echo:" + leftover)
    sock.settimeout(5)
    try:
        while True:
            d = sock.recv(65536)
            if not d:
                break
            sock.sendall(b"echo:" + d)
    except OSError:
        pass
    try:
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass


@case("websocket_upgrade", "interim", "101+tunnel")
def websocket_upgrade(t):
    """`Connection: Upgrade`, `Upgrade: websocket`: the client gets the node's 101, then bytes
    flow both ways until close."""
    t.node.handler = lambda r: Reply([b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade"
                                      b"\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: "
                                      b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"], tunnel=_echo_tunnel)
    up = [("Connection", "Upgrade"), ("Upgrade", "websocket"),
          ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="), ("Sec-WebSocket-Version", "13")]
    p = []
    with t.client() as c:
        r = c.request(build("GET", t.path("/ws"), up), "GET", headers=up)
        if not r.switched:
            return Outcome(r.decision())
        got = bytearray(c.pending())

        def until(want):
            while want not in got:
                d = c.recv_raw(2)
                if not d:
                    return False
                got.extend(d)
            return True
        steps = [until(b"hello-from-node")]
        c.send(b"ping1")
        steps.append(until(b"echo:ping1"))
        c.send(b"ping2")
        steps.append(until(b"echo:ping2"))
        c.sock.shutdown(socket.SHUT_WR)
        steps.append(c.wait_eof(2))
    if not all(steps):
        p.append(f"tunnel steps {steps}, got {bytes(got)!r}")
        return Outcome("101+broken", p)
    return Outcome("101+tunnel", p)


@case("pipelining", "interim", "200,200")
def pipelining(t):
    """Two requests in one write: two answers, in order."""
    with t.client() as c:
        c.send(build("GET", t.path("/p1")) + build("GET", t.path("/p2")))
        c.shadow()
        r1 = c.read_response()
        try:
            c.shadow()
        except Exception:
            pass
        r2 = c.read_response()
    p = []
    if not r1.body.endswith(b"/p1") or not r2.body.endswith(b"/p2"):
        p.append(f"answers {r1.body!r}, {r2.body!r}")
    return Outcome(join(r1.decision(), r2.decision()), p)


@case("expect_100", "interim", "100>200", linger=0.2)
def expect_100(t):
    """`Expect: 100-continue`: the client waits for 100 Continue, then sends the body: 200."""
    hs = [("Expect", "100-continue"), ("Content-Length", "5")]
    p = []
    with t.client() as c:
        c.send(build("POST", t.path("/exp"), hs))
        c.shadow("POST", headers=[("Expect", "100-continue")])
        r1 = c.read_response(2, stop_on_interim=True)
        c.send(b"hello")
        if r1.interims:
            r = c.read_response()
            r.interims = r1.interims + r.interims
        else:
            p.append(f"no 100 Continue within 2 s ({r1.decision()})")
            r = r1 if r1.status else c.read_response()
    reqs = t.node.wait_requests(1)
    if r.status == 200 and (not reqs or reqs[0].body != b"hello"):
        p.append(f"node saw {reqs}")
    return Outcome(r.decision(), p)


@case("chunked_trailer", "interim", "200", linger=0.2)
def chunked_trailer(t):
    """Chunked upload with a trailer field: a valid message at the node (trailer kept or
    dropped)."""
    with t.client() as c:
        r = c.request(build("POST", t.path("/trl"), [("Transfer-Encoding", "chunked")],
                            chunk(b"hello") + b"0\r\nX-Trailer: yes\r\n\r\n"), "POST")
    reqs = t.node.wait_requests(1)
    p, n = [], []
    if r.status == 200:
        if not reqs or reqs[0].body != b"hello":
            p.append(f"node saw {reqs}")
        else:
            n.append(f"node trailers {reqs[0].trailers}")
    return Outcome(r.decision(), p, n)


@case("chunk_extension", "interim", "200", linger=0.2)
def chunk_extension(t):
    """`5;ext=1` chunk extension: accepted, body intact at the node."""
    with t.client() as c:
        r = c.request(build("POST", t.path("/ext"), [("Transfer-Encoding", "chunked")],
                            b"5;ext=1\r\nhello\r\n0\r\n\r\n"), "POST")
    reqs = t.node.wait_requests(1)
    p = [] if (reqs and reqs[0].body == b"hello") or r.status != 200 else [f"node saw {reqs}"]
    return Outcome(r.decision(), p)


@case("sse_stream", "interim", "200,200")
def sse_stream(t):
    """Node streams three text/event-stream events 100 ms apart: the client receives each
    before the next is sent; then a second request on the same client connection works.
    HAProxy by default sends with MSG_MORE and holds the events up to 200 ms (the kernel cork
    limit); with `option http-no-delay` it streams them on time."""
    events = [f"data: {i}\n\n".encode() for i in range(3)]
    replies = []

    def h(req):
        if not req.target.endswith("/sse"):
            return simple(200, b"second")
        parts = [b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                 b"Transfer-Encoding: chunked\r\n\r\n"]
        for e in events:
            parts += [chunk(e), 0.1]
        parts.append(LAST)
        rep = Reply(parts)
        replies.append(rep)
        return rep
    t.node.handler = h
    p = []
    with t.client(3) as c:
        r1 = c.request(build("GET", t.path("/sse")))
        r2 = c.request(build("GET", t.path("/after")))
    if r1.body != b"".join(events):
        p.append(f"stream body {r1.body!r}")
    elif replies:
        sent = replies[0].sent_at[1:]  # after the header: event 0, 1, 2, last chunk
        total = 0
        for i, e in enumerate(events[:-1]):
            total += len(e)
            got = next((tm for tm, ln in r1.data_times if ln >= total), None)
            if got is None or got > sent[i + 1]:
                p.append(f"event {i} reached the client only after event {i + 1} was sent "
                         f"(+{(got - sent[i + 1]) * 1000 if got else -1:.0f} ms)")
    if r2.body != b"second":
        p.append(f"second answer {r2.raw[:80]!r}")
    return Outcome(join(r1.decision(), r2.decision()), p)


# ================================================== found in review (after the first suite)

@case("answer_cl_zero", "framing", "200,200")
def answer_cl_zero(t):
    """Node answers `Content-Length: 0` to a GET: the client gets `Content-Length: 0` (without
    it an HTTP/1.1 client reads until close, RFC 9112 6.3), and the connection is kept."""
    t.node.handler = by_path({"empty": Reply([b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"])},
                             lambda r: simple(200, b"second"))
    p = []
    with t.client() as c:
        r1 = c.request(build("GET", t.path("/empty")))
        if r1.header("content-length") != ["0"]:
            p.append(f"Content-Length {r1.header('content-length')!r}")
        r2 = c.request(build("GET", t.path("/two")))
        if r2.body != b"second":
            p.append(f"second body {r2.body!r}")
    return Outcome(join(r1.decision(), r2.decision()), p)


@case("post_cl_zero", "framing", "200")
def post_cl_zero(t):
    """An empty POST with `Content-Length: 0` reaches the node with it (RFC 9110 8.6: a POST
    without a body should say so; some origins answer 411 otherwise)."""
    p = []
    with t.client() as c:
        r = c.request(build("POST", t.path("/x"), [("Content-Length", "0")]), method="POST")
    seen = t.node.wait_requests(1)
    if not seen or seen[0].header("content-length") != ["0"]:
        p.append(f"node saw Content-Length {seen[0].header('content-length') if seen else None!r}")
    return Outcome(r.decision(), p)


@case("host_invalid", "requests", "400")
def host_invalid(t):
    """A Host value that is no host[:port] (`a b, c`): 400 (RFC 9112 3.2), never copied into
    X-Forwarded-Host."""
    return _reject(t, build("GET", t.path("/x"), host="a b, c"))[0]


@case("max_forwards_zero", "requests", "200")
def max_forwards_zero(t):
    """OPTIONS with `Max-Forwards: 0` is answered by the proxy itself (RFC 9110 7.6.2): 200, the
    node sees nothing. HAProxy forwards it."""
    p = []
    with t.client() as c:
        r = c.request(build("OPTIONS", t.path("/x"), [("Max-Forwards", "0")]), method="OPTIONS")
    seen = settle(t.node)
    if seen:
        p.append(f"forwarded to the node: {seen}")
    return Outcome(r.decision(), p)


@case("reject_body_linger", "requests", "400")
def reject_body_linger(t):
    """A refused request whose body is still coming (an invalid target, 256 KiB body sent at
    once): the client reads the 400 rather than a reset (RFC 9112 9.6: close lingeringly)."""
    body = b"x" * (256 * 1024)
    raw = build("POST", "/groups/g/%zz", [("Content-Length", str(len(body)))]) + body
    return _reject(t, raw, method="POST")[0]


# The health group (sgd's health checker and alert webhook) lives in health_cases.py, which
# registers its cases through case() above.
import health_cases  # noqa: E402,F401

"""A strict HTTP/1.1 origin server for the conformance suite, built on h11 over raw sockets.

Every request the proxy sends is parsed by a *fresh* h11 server connection (leftover bytes carry
over to the next request), so a protocol violation by the proxy - bad framing, a stray
`0\\r\\n\\r\\n` after a chunked body, junk before the next request - shows up as an h11
RemoteProtocolError, recorded in `node.errors`. Answers are written as raw bytes chosen per case,
so the node can misbehave on purpose (contradictory framing, junk after an answer, interim
answers, upgrades).

Used in-process by conformance.py; `python3 strict_node.py` runs one standalone for poking.
"""
import socket
import threading
import time

import h11

HEALTH_PATH = "/__health"
MAX_HEAD = 256 * 1024


def hdr(headers, name):
    """All values of header `name` (bytes or str) in an h11 header list, as str."""
    name = name.lower().encode() if isinstance(name, str) else name.lower()
    return [v.decode("latin-1") for k, v in headers if k.lower() == name]


class Request:
    """One request as the node's h11 saw it."""

    def __init__(self, cid, seq, ev):
        self.cid = cid            # connection id (1, 2, ... per node)
        self.seq = seq            # index of this request on its connection (0-based)
        self.method = ev.method.decode()
        self.target = ev.target.decode("latin-1")
        self.headers = list(ev.headers)   # h11 lower-cases names
        self.http_version = ev.http_version.decode()
        self.body = b""
        self.trailers = []
        self.raw = b""            # exactly the bytes of this message on the wire
        self.case = None
        self.t = time.monotonic()

    def header(self, name):
        return hdr(self.headers, name)

    def __repr__(self):
        return f"<{self.method} {self.target} conn={self.cid}#{self.seq} body={self.body[:40]!r}>"


class Reply:
    """What to answer: `parts` is a list of bytes (written in order, each send timestamped in
    `sent_at`) and floats (pauses in seconds). `close`: close after writing. `tunnel`: a
    callable(sock, leftover) that takes over the connection after the parts (upgrades).
    `keep_open`: keep the connection after the reply even if the request asked to close."""

    def __init__(self, parts, close=False, tunnel=None, events=None, keep_open=False):
        self.parts = [parts] if isinstance(parts, (bytes, bytearray)) else list(parts)
        self.close = close
        self.keep_open = keep_open
        self.tunnel = tunnel
        self.sent_at = []
        self.events = events or {}   # index of part -> threading.Event set after it is sent


def simple(status=200, body=b"ok", headers=(), reason=None):
    reason = reason or {200: "OK", 201: "Created", 404: "Not Found"}.get(status, "X")
    head = f"HTTP/1.1 {status} {reason}\r\n".encode()
    for k, v in headers:
        head += f"{k}: {v}\r\n".encode()
    head += f"Content-Length: {len(body)}\r\n\r\n".encode()
    return Reply([head + body])


def default_handler(req):
    return simple(200, f"ok {req.method} {req.target}".encode())


class StrictNode:
    def __init__(self, name="node"):
        self.name = name
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(128)
        self.port = self.lsock.getsockname()[1]
        self.handler = default_handler
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.requests = []       # Request, health checks excluded
        self.errors = []         # (case, cid, message, raw bytes of that connection)
        self.conns = {}          # cid -> socket
        self.conn_raw = {}       # cid -> bytearray of everything received
        self.closed_conns = set()
        self.opened_at = {}      # cid -> monotonic time the connection was accepted
        self.peer_closed_at = {}  # cid -> monotonic time the peer's EOF was seen
        self.case = None
        self.next_cid = 0
        self.stopping = False
        self.thread = threading.Thread(target=self._accept_loop, daemon=True)
        self.thread.start()

    # --- case control -----------------------------------------------------------------
    def begin_case(self, name, handler=None):
        with self.lock:
            self.case = name
            self.handler = handler or default_handler
            self.requests = []
            self.errors = []

    def wait_requests(self, n, timeout=2.0):
        """Wait until at least n requests (of this case) arrived; returns the list."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.requests) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.cond.wait(left)
            return list(self.requests)

    def wait_error(self, timeout):
        """Wait up to timeout for an h11 error in this case (returns early on one)."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while not self.errors:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.cond.wait(left)

    def snapshot(self):
        with self.lock:
            return list(self.requests), list(self.errors)

    def close(self):
        self.stopping = True
        try:
            self.lsock.close()
        except OSError:
            pass
        with self.lock:
            socks = list(self.conns.values())
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    # --- server -----------------------------------------------------------------------
    def _accept_loop(self):
        while not self.stopping:
            try:
                s, _ = self.lsock.accept()
            except OSError:
                return
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self.lock:
                self.next_cid += 1
                cid = self.next_cid
                self.conns[cid] = s
                self.conn_raw[cid] = bytearray()
                self.opened_at[cid] = time.monotonic()
            threading.Thread(target=self._serve, args=(s, cid), daemon=True).start()

    def _recv(self, s, cid):
        try:
            data = s.recv(65536)
        except OSError:
            data = b""
        with self.lock:
            self.conn_raw[cid] += data
        return data

    def _error(self, cid, msg):
        with self.cond:
            self.errors.append((self.case, cid, msg, bytes(self.conn_raw[cid])))
            self.cond.notify_all()

    def _serve(self, s, cid):
        leftover, eof = b"", False
        seq = 0
        try:
            while not self.stopping:
                h = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD)
                if leftover:
                    h.receive_data(leftover)
                if eof:
                    h.receive_data(b"")
                with self.lock:
                    start = len(self.conn_raw[cid]) - len(leftover)
                req, sent100 = None, False
                while True:
                    try:
                        ev = h.next_event()
                    except h11.RemoteProtocolError as e:
                        self._error(cid, f"h11: {e}")
                        return
                    if ev is h11.NEED_DATA:
                        if req is not None and h.they_are_waiting_for_100_continue and not sent100:
                            s.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
                            sent100 = True
                        data = self._recv(s, cid)
                        if not data:
                            eof = True
                            with self.cond:
                                self.peer_closed_at.setdefault(cid, time.monotonic())
                                self.cond.notify_all()
                        h.receive_data(data)
                        continue
                    if isinstance(ev, h11.ConnectionClosed):
                        return
                    if isinstance(ev, h11.Request):
                        req = Request(cid, seq, ev)
                    elif isinstance(ev, h11.Data):
                        req.body += ev.data
                    elif isinstance(ev, h11.EndOfMessage):
                        req.trailers = list(ev.headers)
                        break
                    elif ev is h11.PAUSED:
                        break
                leftover, eof = h.trailing_data
                with self.lock:
                    end = len(self.conn_raw[cid]) - len(leftover)
                    req.raw = bytes(self.conn_raw[cid][start:end])
                seq += 1
                wants_close = (req.http_version == "1.0" and "keep-alive" not in
                               ",".join(req.header("connection")).lower()) or \
                    "close" in ",".join(req.header("connection")).lower()
                if req.target.split("?")[0] == HEALTH_PATH:
                    s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                    if wants_close:
                        return
                    continue
                with self.cond:
                    req.case = self.case
                    self.requests.append(req)
                    handler = self.handler
                    self.cond.notify_all()
                reply = handler(req)
                for i, p in enumerate(reply.parts):
                    if isinstance(p, (int, float)):
                        time.sleep(p)   # part of the scripted answer (pacing), not synchronisation
                        continue
                    s.sendall(p)
                    reply.sent_at.append(time.monotonic())
                    if i in reply.events:
                        reply.events[i].set()
                if reply.tunnel:
                    reply.tunnel(s, leftover)
                    return
                if reply.close or (wants_close and not reply.keep_open):
                    return
        except OSError:
            return
        finally:
            with self.lock:
                self.conns.pop(cid, None)
                self.closed_conns.add(cid)
            try:
                s.close()
            except OSError:
                pass


if __name__ == "__main__":
    n = StrictNode()
    print(f"strict node on 127.0.0.1:{n.port} (health {HEALTH_PATH}); Ctrl-C stops", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        n.close()

#!/usr/bin/env python3
"""Writes the seed corpora of tests/fuzz (corpus/<target>/seed-*): run it again after changing a
target's input layout. Files named crash-* (inputs that found a bug) are left alone."""
import pathlib
import struct

here = pathlib.Path(__file__).resolve().parent


def write(target, seeds):
    d = here / "corpus" / target
    d.mkdir(parents=True, exist_ok=True)
    for old in d.glob("seed-*"):
        old.unlink()
    for i, (name, data) in enumerate(seeds):
        (d / f"seed-{i:02d}-{name}").write_bytes(data)


# fuzz_head: [flags][limit][split seed][trailer limit] bytes
REQ, HEADREQ, BODY = 1, 2, 4


def head(flags, text, limit=0, seed=3, trailer=0):
    return bytes([flags, limit, seed, trailer]) + text


H = b"Host: a\r\n"
head_seeds = [
    ("get", head(REQ, b"GET / HTTP/1.1\r\n" + H + b"\r\n")),
    ("leading-crlf-10", head(REQ, b"\r\n\r\nGET /groups/g/x HTTP/1.0\r\n\r\n")),
    ("post-length", head(REQ, b"POST /groups/g/u HTTP/1.1\r\n" + H + b"Content-Length: 5\r\n\r\nhello")),
    ("post-chunked", head(REQ, b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n"
                               b"5;name=value\r\nhello\r\n6 ; x=\"y\"\r\n world\r\n0\r\nTrailer-A: 1\r\nX: y\r\n\r\n")),
    ("te-cl", head(REQ, b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")),
    ("te-gzip-chunked", head(REQ, b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n")),
    ("te-chunked-gzip", head(REQ, b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked, gzip\r\n\r\n")),
    ("te-twice", head(REQ, b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n")),
    ("te-10", head(REQ, b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")),
    ("cl-list", head(REQ, b"PUT /x HTTP/1.1\r\n" + H + b"Content-Length: 3, 3\r\nContent-Length: 3\r\n\r\nabc")),
    ("cl-conflict", head(REQ, b"PUT /x HTTP/1.1\r\n" + H + b"Content-Length: 3, 4\r\n\r\nabc")),
    ("cl-odd", head(REQ, b"PUT /x HTTP/1.1\r\nContent-Length: +3\r\nContent-Length: -1\r\nContent-Length: 0x3\r\n\r\n")),
    ("cl-huge", head(REQ, b"PUT /x HTTP/1.1\r\nContent-Length: 18446744073709551616\r\n\r\n")),
    ("cl-empty", head(REQ, b"PUT /x HTTP/1.1\r\nContent-Length: ,\r\n\r\n")),
    ("obs-fold", head(REQ, b"GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n")),
    ("space-colon", head(REQ, b"GET / HTTP/1.1\r\nHost : a\r\n\r\n")),
    ("bare-lf", head(REQ, b"GET / HTTP/1.1\nHost: a\n\n")),
    ("version", head(REQ, b"GET / HTTP/2.0\r\n\r\n")),
    ("upgrade", head(REQ, b"GET /chat HTTP/1.1\r\n" + H + b"Connection: keep-alive, Upgrade, X-Foo\r\nUpgrade: websocket\r\nX-Foo: 1\r\n\r\n")),
    ("expect", head(REQ, b"POST / HTTP/1.1\r\n" + H + b"Expect: 100-Continue\r\nContent-Length: 1\r\n\r\nx")),
    ("two-hosts", head(REQ, b"GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n")),
    ("absolute", head(REQ, b"GET http://example.com/groups/g/x?y HTTP/1.1\r\nHost: example.com\r\n\r\n")),
    ("bytes", head(REQ, b"GET / HTTP/1.1\r\nX: \xff\xfe\t v \r\nY: a\x01b\r\n\r\n")),
    ("small-limit", head(REQ | 8, b"GET / HTTP/1.1\r\n" + H + b"\r\n", limit=20)),
    ("resp-length", head(0, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")),
    ("resp-204", head(0, b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n")),
    ("resp-304-te", head(0, b"HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n")),
    ("resp-100", head(0, b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n")),
    ("resp-no-reason", head(0, b"HTTP/1.1 200\r\nConnection: close\r\n\r\nbody")),
    ("resp-10-te", head(0, b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")),
    ("resp-te-cl", head(0, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 10\r\n\r\n5\r\nhello\r\n0\r\n\r\n")),
    ("resp-head", head(HEADREQ, b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n")),
    ("resp-close", head(0, b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\nuntil close")),
    ("resp-status", head(0, b"HTTP/1.1 099 X\r\n\r\n")),
    ("resp-status4", head(0, b"HTTP/1.1 2000 OK\r\n\r\n")),
    ("body", head(BODY, b"5\r\nhello\r\n0\r\n\r\n")),
    ("body-ext-trailer", head(BODY, b"a;ext=\"q\";x\r\n0123456789\r\n0;last\r\nT: v\r\nU:\r\n\r\nrest")),
    ("body-two-last", head(BODY, b"0\r\n\r\n0\r\n\r\n")),
    ("body-max-size", head(BODY, b"ffffffffffffffff\r\n")),
    ("body-17-digits", head(BODY, b"00000000000000001\r\nx\r\n0\r\n\r\n")),
    ("body-no-crlf", head(BODY, b"5\r\nhelloXX0\r\n\r\n")),
    ("body-lf", head(BODY, b"5\nhello\r\n0\r\n\r\n")),
    ("body-bad-trailer", head(BODY, b"0\r\nBad Trailer\r\n\r\n")),
    ("body-trailer-lf", head(BODY, b"0\r\nT: a\nb\r\n\r\n")),
    ("body-bws", head(BODY, b"5 \t\r\nhello\r\n5 x\r\nworld\r\n0\r\n\r\n")),
    ("body-trailer-limit", head(BODY, b"0\r\nA: 1\r\nB: 2\r\n\r\n", trailer=2)),
    ("body-bytewise", head(BODY, b"3\r\nabc\r\n0\r\n\r\n", seed=0)),
]


# fuzz_relay: [flags][read][write][length:2][rep][pre:2][max:2][fail] payload
NONE, LENGTH, CHUNKED, CLOSE = 0, 1, 2, 3
CHUNK_OUT, PREFIX, MAX, FAIL_IN, FAIL_OUT, EXPAND = 4, 8, 0x10, 0x20, 0x40, 0x80


def relay(flags, payload, read=0, write=0, length=0, rep=0, pre=0, max_=0, fail=0):
    return struct.pack(">BBBHBHHB", flags, read, write, length, rep, pre, max_, fail) + payload


CH = b"5;a=b\r\nhello\r\n1\r\n \r\n6\r\nworld!\r\n0\r\nX-T: 1\r\n\r\n"
relay_seeds = [
    ("none", relay(NONE | PREFIX, b"GET / HTTP/1.1\r\n\r\n", pre=5)),
    ("length", relay(LENGTH | PREFIX, b"helloGET / HTTP/1.1\r\n\r\n", length=5, pre=3)),
    ("length-small-io", relay(LENGTH | PREFIX, b"0123456789abcdef", read=3, write=2, length=16)),
    ("length-short", relay(LENGTH | PREFIX, b"abc", length=10)),
    ("length-large", relay(LENGTH | PREFIX | EXPAND, bytes(range(256)) * 4, length=1024, rep=40, pre=1024)),
    ("length-large-reads", relay(LENGTH | EXPAND, b"x" * 2000, read=200, write=150, length=2000, rep=63, pre=10)),
    ("length-max", relay(LENGTH | PREFIX | MAX, b"0123456789", read=4, length=10, max_=5)),
    ("chunked-out", relay(CHUNKED | CHUNK_OUT | PREFIX, CH + b"GET / HTTP/1.1\r\n\r\n", pre=9)),
    ("chunked-bytewise", relay(CHUNKED | CHUNK_OUT | PREFIX, CH, read=1, write=1)),
    ("chunked-10", relay(CHUNKED | PREFIX, CH, read=5)),
    ("chunked-truncated", relay(CHUNKED | CHUNK_OUT | PREFIX, b"5\r\nhello\r\n3\r\nab", read=7)),
    ("chunked-bad", relay(CHUNKED | CHUNK_OUT | PREFIX, b"5\r\nhello\r\nzz\r\n", pre=14)),
    ("chunked-max", relay(CHUNKED | CHUNK_OUT | PREFIX | MAX, CH, read=4, max_=7)),
    ("chunked-large", relay(CHUNKED | CHUNK_OUT | PREFIX | EXPAND, b"3e8\r\n" + b"y" * 1000 + b"\r\n", read=200, rep=40)),
    ("chunked-no-prefix", relay(CHUNKED | CHUNK_OUT, CH, pre=20)),
    ("close-chunk-out", relay(CLOSE | CHUNK_OUT | PREFIX, b"data: 1\n\ndata: 2\n\n", read=7, write=3)),
    ("close-raw", relay(CLOSE | PREFIX, b"until the node closes", pre=4)),
    ("close-empty", relay(CLOSE | CHUNK_OUT | PREFIX, b"")),
    ("close-large", relay(CLOSE | CHUNK_OUT | EXPAND, b"z" * 3000, rep=30, read=130)),
    ("fail-read", relay(CHUNKED | CHUNK_OUT | PREFIX | FAIL_IN, CH, read=6, fail=0x02)),
    ("fail-read-close", relay(CLOSE | CHUNK_OUT | PREFIX | FAIL_IN, b"abcdefgh", read=2, fail=0x03)),
    ("fail-write", relay(LENGTH | PREFIX | FAIL_OUT, b"0123456789", read=2, write=3, length=10, fail=0x20)),
    ("fail-write-chunked", relay(CHUNKED | CHUNK_OUT | PREFIX | FAIL_OUT, CH, read=3, fail=0x10)),
]


# fuzz_target: target [NUL baseUrl]
target_seeds = [
    ("plain", b"/groups/g/a/b?x=1"),
    ("group-only", b"/groups/g"),
    ("group-slash", b"/groups/g/"),
    ("group-query", b"/groups/g?q=/../x"),
    ("dots", b"/groups/g/./a/../b"),
    ("dot-end", b"/groups/g/a/."),
    ("dotdot-end", b"/groups/g/a/.."),
    ("climb", b"/groups/g/a/../../x"),
    ("climb-group", b"/groups/../admin"),
    ("dot-group", b"/groups/./x"),
    ("empty-segs", b"/groups/g//x/../"),
    ("dotfiles", b"/groups/g/.hidden/..x/..."),
    ("pct-dots", b"/groups/g/%2e%2e/x"),
    ("bad-pct", b"/groups/g/a%zz"),
    ("fragment", b"/groups/g/a#f"),
    ("absolute", b"http://h/groups/g/x"),
    ("absolute-case", b"HTTPS://h:1/groups/g/x?y"),
    ("absolute-nopath", b"http://h?x"),
    ("absolute-userinfo", b"http://u@h/groups/g"),
    ("absolute-v6", b"http://[::1]:80/groups/g/x"),
    ("star", b"*"),
    ("other", b"/other/path"),
    ("relative", b"groups/g/x"),
    ("base-query", b"/groups/g/x\x00http://node/base/?q=1"),
    ("base-v6", b"/groups/g\x00https://[::1]:8443"),
    ("base-bare-query", b"/groups/g/?a\x00http://n?only"),
    ("base-root", b"/groups/g/../g2\x00http://n/"),
]

write("fuzz_head", head_seeds)
write("fuzz_relay", relay_seeds)
write("fuzz_target", target_seeds)

// libFuzzer target: the body relay (http/relay.hpp, relay_body) between two in-memory streams
// (Beast's test::stream), every framing, with and without chunked output, with small reads and
// writes, a body limit and injected read or write failures.
//
// Input: 11 parameter bytes, then the body bytes D.
//   [0] flags: bits 0-1 the framing (none, length, chunked, until_close); bit 2 chunk_out;
//       bit 3 a header (prefix) goes first; bit 4 a body limit; bit 5 the nth read fails;
//       bit 6 the nth write fails; bit 7 D is the rest repeated (large bodies).
//   [1] read size, [2] write size (0: unlimited, < 128: bytes, else (b - 127) KiB)
//   [3-4] the length for body_kind::length, [5] repetitions, [6-7] how much of D is already
//   buffered, [8-9] the body limit, [10] which read (low nibble) / write (high nibble) fails.
// Checked against a decoding of D on its own: the result code, the bytes counted, the output
// (the prefix, then the body as it came, or re-chunked with exactly one last-chunk at the end
// and none when the relay failed), no more body out than the limit, what is left after the body,
// the prefix emptied once written (the proxy's "header sent" test), and no hang.
#include "fuzz_common.hpp"
#include "http/io_deadline.hpp"
#include "http/relay.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/_experimental/test/stream.hpp>

#include <cstring>
#include <optional>

namespace asio = boost::asio;
namespace beast = boost::beast;
using namespace sg::http;

namespace {

size_t io_size(uint8_t b) {
  if (b == 0) return SIZE_MAX;
  return b < 128 ? b : (b - 127u) * 1024u;
}

struct expectation {
  relay_result::code_t code = relay_result::ok;
  const char* error = nullptr;  // for bad_framing
  bool too_large_allowed = false;
  std::string data;      // the decoded body (all of it, or what came before the failure)
  std::string trailers;  // of a chunked body that ended
  size_t consumed = 0;   // bytes of D that are the body (when it ended)
};

expectation expect(const relay_job& job, std::string_view d) {
  expectation e;
  auto max = job.max_bytes;
  switch (job.from.kind) {
    case body_kind::none:
      break;
    case body_kind::length: {
      auto n = static_cast<size_t>(std::min<uint64_t>(job.from.length, d.size()));
      e.data.assign(d.substr(0, n));
      e.consumed = n;
      if (max && n > max)
        e.code = relay_result::too_large;
      else if (d.size() < job.from.length)
        e.code = relay_result::read_failed;
      break;
    }
    case body_kind::chunked: {
      auto r = fuzz::decode_chunked(d);
      e.data = r.data;
      e.consumed = r.consumed;
      if (r.error) {
        e.code = relay_result::bad_framing;
        e.error = r.error;
        // The limit may be seen before the bad byte.
        e.too_large_allowed = max && r.data.size() > max;
      } else if (max && r.data.size() > max) {
        e.code = relay_result::too_large;
      } else if (!r.done) {
        e.code = relay_result::read_failed;
      } else {
        e.trailers = r.trailers;
      }
      break;
    }
    case body_kind::until_close:
      e.data.assign(d);
      e.consumed = d.size();
      if (max && d.size() > max) e.code = relay_result::too_large;
      break;
  }
  return e;
}

bool starts_with(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::input in{data, size};
  uint8_t flags = in.byte();
  size_t read_size = io_size(in.byte());
  size_t write_size = io_size(in.byte());
  uint16_t length16 = in.u16();
  uint8_t rep_byte = in.byte();
  uint16_t pre16 = in.u16();
  uint16_t max16 = in.u16();
  uint8_t fail_byte = in.byte();
  bool expand = flags & 0x80;
  size_t rep = expand ? 1 + rep_byte % 64 : 1;

  std::string d;
  for (size_t i = 0; i < rep; ++i) d.append(in.rest());

  // At most a few hundred reads and writes per input (each goes through the io_context).
  read_size = std::max(read_size, d.size() / 128 + 1);
  write_size = std::max(write_size, d.size() / 64 + 1);

  relay_job job;
  job.from.kind = static_cast<body_kind>(flags & 3);
  // The proxy never relays a length of 0 (framing gives none for it).
  if (job.from.kind == body_kind::length) job.from.length = std::max<uint64_t>(1, length16) * rep;
  job.chunk_out = flags & 4;
  if (flags & 0x10) job.max_bytes = (uint64_t{max16} + 1) * rep;
  size_t pre = std::min<size_t>(d.size(), size_t{pre16} * rep);
  const std::string prefix0 = flags & 8 ? "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" : "";
  bool fail_in = flags & 0x20, fail_out = flags & 0x40;

  // One io_context and one watched (never connected) TCP stream for all inputs.
  static asio::io_context ioc;
  static beast::tcp_stream watched(ioc);
  ioc.restart();

  beast::test::fail_count fc_in(fail_in ? 1 + (fail_byte & 15) : SIZE_MAX);
  beast::test::fail_count fc_out(fail_out ? 1 + (fail_byte >> 4) : SIZE_MAX);
  beast::test::stream src(ioc, fc_in, std::string_view(d).substr(pre));
  src.read_size(read_size);
  src.close_remote();  // eof after the bytes
  beast::test::stream dst(ioc, fc_out), peer(ioc);
  dst.connect(peer);
  dst.write_size(write_size);

  beast::flat_buffer buf;
  if (pre) {
    auto b = buf.prepare(pre);
    std::memcpy(b.data(), d.data(), pre);
    buf.commit(pre);
  }
  std::string prefix = prefix0;
  io_deadline dl(ioc.get_executor());
  std::optional<relay_result> result;
  bool threw = false;
  using side = relay_side<beast::test::stream>;
  asio::co_spawn(ioc,
                 relay_body(side{src, watched, std::chrono::seconds(30)}, buf,
                            side{dst, watched, std::chrono::seconds(30)}, job, prefix, dl),
                 [&](std::exception_ptr e, relay_result r) {
                   threw = e != nullptr;
                   result = r;
                 });
  ioc.run();
  FUZZ_CHECK(!threw);
  FUZZ_CHECK(result.has_value());  // finished: no hang with all input there and eof after it
  auto r = *result;

  auto e = expect(job, d);
  bool injected = ((r.code == relay_result::read_failed && fail_in) ||
                   (r.code == relay_result::write_failed && fail_out)) &&
                  r.ec == beast::test::error::test_failure;
  if (!injected && r.code != e.code)
    FUZZ_CHECK(r.code == relay_result::too_large && e.too_large_allowed);
  if (r.code == relay_result::bad_framing) FUZZ_CHECK(r.error && std::strcmp(r.error, e.error) == 0);
  if (r.code == relay_result::read_failed && !injected)
    FUZZ_CHECK(r.ec == asio::error::eof);

  // The output: the prefix, then the body.
  std::string out(peer.str());
  if (out.size() < prefix0.size()) {
    FUZZ_CHECK(starts_with(prefix0, out));
    FUZZ_CHECK(r.code != relay_result::ok);
  } else {
    FUZZ_CHECK(starts_with(out, prefix0));
  }
  std::string_view body = std::string_view(out).substr(std::min(out.size(), prefix0.size()));
  bool rechunked = job.chunk_out && (job.from.kind == body_kind::chunked ||
                                     job.from.kind == body_kind::until_close);
  std::string body_data;  // the body as decoded from the output
  if (rechunked) {
    auto o = fuzz::decode_chunked(body);
    FUZZ_CHECK(!o.error);  // the proxy never writes a malformed chunked body
    body_data = o.data;
    if (r.code == relay_result::ok) {
      // A whole chunked message, exactly one last-chunk, nothing after it.
      FUZZ_CHECK(o.done && o.consumed == body.size());
      FUZZ_CHECK(o.trailers == e.trailers);
    } else {
      // Cut short: the client must not see a message that looks complete.
      FUZZ_CHECK(!o.done);
    }
  } else {
    body_data = std::string(body);  // as it came (chunk_out is unused for a length or none)
  }
  FUZZ_CHECK(body_data.size() <= e.data.size());  // never more than the body
  FUZZ_CHECK(starts_with(e.data, body_data));     // and the body's bytes, in order
  if (job.max_bytes) FUZZ_CHECK(body_data.size() <= job.max_bytes);

  if (r.code == relay_result::ok) {
    FUZZ_CHECK(body_data == e.data);
    FUZZ_CHECK(r.bytes == e.data.size());
    FUZZ_CHECK(prefix.empty());
    // What follows the body is left: in `buf` (read already) and in the stream (not read).
    std::string left(buffered(buf));
    left.append(src.str());
    if (job.from.kind == body_kind::none)
      FUZZ_CHECK(left == d);
    else
      FUZZ_CHECK(left == std::string_view(d).substr(e.consumed));
  }
  FUZZ_CHECK(r.bytes >= body_data.size() && r.bytes <= e.data.size());
  // The proxy answers 502 only while nothing of the answer is out (r.wrote false): `wrote` must
  // say whether bytes reached the other side, and once it does the prefix is empty whatever
  // the outcome.
  if (r.code != relay_result::write_failed) FUZZ_CHECK(r.wrote == !out.empty());
  if (r.wrote) FUZZ_CHECK(prefix.empty());
  return 0;
}

#include "http/answer_reader.hpp"

#include <algorithm>

namespace sg::http {

answer_reader::answer_reader(size_t keep_body, bool head_request)
    : keep_(keep_body), head_request_(head_request) {
  buf_.resize(1024);
}

char* answer_reader::prepare(size_t& room) {
  if (status_ == 0) {
    // Head: grow within the head budget (plus one byte, so an oversized head is seen as such).
    size_t cap = std::min(head_budget_ + 1, max_head_bytes + 1);
    if (buf_.size() - used_ < 512 && buf_.size() < cap) buf_.resize(std::min(cap, buf_.size() * 2));
  } else {
    used_ = 0;  // body bytes are taken out as they arrive
  }
  room = buf_.size() - used_;
  return buf_.data() + used_;
}

answer_reader::state answer_reader::commit(size_t n) {
  if (state_ != state::need_more) return state_;
  used_ += n;
  return status_ == 0 ? parse() : body_from_buffer();
}

answer_reader::state answer_reader::eof() {
  if (state_ != state::need_more) return state_;
  if (status_ == 0)
    return fail(used_ == 0 ? "no HTTP answer: the node closed the connection"
                           : "no HTTP answer: the node closed within the header");
  if (framing_.kind == body_kind::until_close) return state_ = state::done;
  // A body cut short still leaves the status answered; what arrived is kept.
  return state_ = state::done;
}

answer_reader::state answer_reader::fail(std::string why) {
  error_ = std::move(why);
  return state_ = state::failed;
}

answer_reader::state answer_reader::parse() {
  for (;;) {
    std::string_view have(buf_.data(), used_);
    auto hr = parse_response_head(have, head_, head_budget_);
    if (hr == head_result::need_more) {
      if (used_ > head_budget_) return fail("the answer's header is larger than 16 KiB");
      return state_;
    }
    if (hr == head_result::too_large) return fail("the answer's header is larger than 16 KiB");
    if (hr == head_result::invalid)
      return fail(std::string("malformed HTTP answer: ") + head_.error);
    size_t hb = head_.header_bytes;
    if (head_.status >= 200 || head_.status == 101) {
      if (auto err = response_framing(head_, head_request_, framing_))
        return fail(std::string("malformed HTTP answer: ") + err);
      status_ = static_cast<int>(head_.status);
      buf_.erase(0, hb);
      used_ -= hb;
      left_ = framing_.kind == body_kind::length ? framing_.length : 0;
      if (keep_ == 0 || framing_.kind == body_kind::none ||
          (framing_.kind == body_kind::length && left_ == 0))
        return state_ = state::done;
      body_.reserve(std::min<size_t>(keep_, 4096));
      return body_from_buffer();
    }
    if (++interim_ > max_interim)
      return fail("more than " + std::to_string(max_interim) + " interim answers");
    head_budget_ -= hb;
    buf_.erase(0, hb);
    used_ -= hb;
  }
}

answer_reader::state answer_reader::body_from_buffer() {
  std::string_view in(buf_.data(), used_);
  used_ = 0;
  auto keep = [&](std::string_view d) {
    body_.append(d.substr(0, keep_ - std::min(keep_, body_.size())));
  };
  if (framing_.kind == body_kind::chunked) {
    chunks_.feed(in, keep);
    if (chunks_.error()) return fail(std::string("malformed chunked body: ") + chunks_.error());
    if (chunks_.done()) return state_ = state::done;
  } else if (framing_.kind == body_kind::length) {
    auto take = static_cast<size_t>(std::min<uint64_t>(left_, in.size()));
    keep(in.substr(0, take));
    left_ -= take;
    if (left_ == 0) return state_ = state::done;
  } else {
    keep(in);
  }
  if (body_.size() >= keep_) return state_ = state::done;
  return state_;
}

}  // namespace sg::http

#pragma once
// One admin API connection: reads requests with bounded headers (16 KiB) and bodies (1 MiB,
// else 413), answers Expect: 100-continue, times out idle or slow clients (30 s), keeps alive.
#include "http/admin_api.hpp"
#include "http/listener.hpp"

#include <memory>

namespace sg::http {

inline constexpr size_t admin_body_limit = 1u << 20;

boost::asio::awaitable<void> admin_session(tcp::socket sock, std::shared_ptr<admin_api> api);

}  // namespace sg::http

#pragma once
// GET /api/events: server-sent events of every status transition, alert and drain, from the
// event hub to one admin client until it disconnects (Last-Event-ID resumes from the backlog).
// A client too slow to keep up with 1000 queued events is cut off rather than buffered forever.
#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include <cstdint>

namespace sg::http {

boost::asio::awaitable<void> stream_events(boost::beast::tcp_stream& stream, caf::actor_system& sys,
                                           caf::actor hub, uint64_t since);

}  // namespace sg::http

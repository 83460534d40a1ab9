#pragma once
// Fans events out: logs each as a JSON line, keeps the last 1024 for late subscribers, and pushes
// them to subscribers (SSE clients, the webhook sender). A sink must not block: it only queues.
#include "actors/event.hpp"

#include <caf/stateful_actor.hpp>

#include <cstdint>
#include <deque>
#include <map>
#include <memory>

namespace sg {

class event_sink {
 public:
  virtual ~event_sink() = default;
  // Called on the hub's thread; must return at once (queue or post elsewhere). False: drop me.
  virtual bool push(const event& e) = 0;
};
using event_sink_ptr = std::shared_ptr<event_sink>;

struct event_hub_state {
  uint64_t seq = 0;
  std::deque<event> recent;  // bounded backlog
  std::map<uint64_t, event_sink_ptr> sinks;
  uint64_t next_sink = 0;
  static inline const char* name = "sg.events";
};

// Messages: (event_atom, event) publish; (subscribe_atom, event_sink_ptr, uint64 since_seq) ->
// uint64 id, replays backlog events newer than since_seq; (unsubscribe_atom, uint64 id).
// `backlog`: events kept for late subscribers (an argument also keeps CAF 0.17 off its
// argument-less spawn path, which UBSan flags).
caf::behavior event_hub(caf::stateful_actor<event_hub_state>* self, size_t backlog);

}  // namespace sg

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sg::event_sink_ptr)

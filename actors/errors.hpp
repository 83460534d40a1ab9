#pragma once
// The one error enum that crosses actor boundaries. Actors answer with caf::error values built by
// make_error(); the HTTP edge maps each code to a status (see http/error_reply.cpp).
#include <caf/error.hpp>

#include <cstdint>
#include <string>

namespace sg {

enum class sg_errc : uint8_t {
  ok = 0,
  invalid_argument = 1,  // input that fails validation; message names the field
  group_not_found = 2,   // no group of that name
  node_not_found = 3,    // no node with that id in the group
  conflict = 4,          // the request contradicts current state (e.g. DELETE of a non-empty group)
  storage_failed = 5,    // the journal could not be written or fsynced; nothing was applied
  unavailable = 6,       // the controller is shutting down or an actor is gone
  clock_skew = 7,        // this controller's clock is off from its peers beyond the bound
};

const char* to_string(sg_errc code);

// Every sgd error carries a human-readable message naming the problem.
caf::error make_error(sg_errc code, std::string message);

// True when `err` is one of ours; `code`/`message` get its parts.
bool is_sg_error(const caf::error& err);
sg_errc code_of(const caf::error& err);
std::string message_of(const caf::error& err);

// The category atom used for sg_errc inside caf::error.
caf::atom_value sg_error_category();

}  // namespace sg

// Free TCP ports on 127.0.0.1 for servers started by tests (bind to port 0, read it, close).
// Racy by nature; the kernel rarely hands the same ephemeral port out twice in a row.
#pragma once

#include <cstdint>

namespace sg::test {

// A port that was free a moment ago on 127.0.0.1, outside the ephemeral range; 0 if none was.
std::uint16_t free_port();

}  // namespace sg::test

#include "actors/errors.hpp"

#include <caf/atom.hpp>
#include <caf/make_message.hpp>

namespace sg {

const char* to_string(sg_errc code) {
  switch (code) {
    case sg_errc::ok:
      return "ok";
    case sg_errc::invalid_argument:
      return "invalid_argument";
    case sg_errc::group_not_found:
      return "group_not_found";
    case sg_errc::node_not_found:
      return "node_not_found";
    case sg_errc::conflict:
      return "conflict";
    case sg_errc::storage_failed:
      return "storage_failed";
    case sg_errc::unavailable:
      return "unavailable";
    case sg_errc::clock_skew:
      return "clock_skew";
  }
  return "unknown";
}

caf::atom_value sg_error_category() {
  return caf::atom("sgd");
}

caf::error make_error(sg_errc code, std::string message) {
  return caf::error(static_cast<uint8_t>(code), sg_error_category(),
                    caf::make_message(std::move(message)));
}

bool is_sg_error(const caf::error& err) {
  return err && err.category() == sg_error_category();
}

sg_errc code_of(const caf::error& err) {
  return is_sg_error(err) ? static_cast<sg_errc>(err.code()) : sg_errc::unavailable;
}

std::string message_of(const caf::error& err) {
  if (is_sg_error(err) && err.context().match_elements<std::string>())
    return err.context().get_as<std::string>(0);
  return caf::to_string(err);
}

}  // namespace sg

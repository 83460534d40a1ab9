#include "cluster/journal_writer.hpp"

#include "cluster/files.hpp"

#include <caf/all.hpp>

namespace sg {

caf::behavior journal_writer(caf::event_based_actor* self, std::shared_ptr<registry_store> store) {
  self->set_default_handler(caf::drop);
  return {
      [=](jappend_atom, const std::vector<std::string>& payloads) {
        return store->journal_file().append(payloads);
      },
      [=](jrewrite_atom, const std::vector<std::string>& payloads) {
        return store->journal_file().rewrite(payloads);
      },
      [=](jfile_atom, const std::string& path, const std::string& content) {
        return write_file_atomic(path, content);
      },
  };
}

}  // namespace sg

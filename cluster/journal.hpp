#pragma once
// The durable log under the registry: a file of length-prefixed, CRC-32C-checked entries,
// appended and fdatasync'ed before a write is acknowledged. Opening it replays every whole entry
// and cuts off a torn or corrupt tail (logged), so a crash mid-write never stops sgd starting.
// Compaction writes the live state to a new file and renames it over the old one atomically.
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace sg {

struct journal_recovery {
  size_t entries = 0;
  uint64_t valid_bytes = 0;
  uint64_t dropped_bytes = 0;  // torn or corrupt tail cut off
  std::string dropped_reason;
};

class journal {
 public:
  static constexpr uint32_t max_entry = 16u << 20;  // bound on one entry; larger is corruption

  journal() = default;
  journal(const journal&) = delete;
  journal& operator=(const journal&) = delete;
  journal(journal&& other) noexcept;
  journal& operator=(journal&& other) noexcept;
  ~journal();

  // Opens (creating if absent) `path`, passing each whole entry's payload to `on_entry`.
  // Returns "" or an error (unreadable file, foreign format): the data dir is unusable.
  std::string open(const std::string& path, const std::function<void(std::string_view)>& on_entry,
                   journal_recovery& recovery);

  // Appends entries and makes them durable (one fdatasync for the batch). "" or an error; on error
  // the file is cut back to its previous size so a half batch never replays.
  std::string append(const std::vector<std::string>& payloads);

  // Replaces the file's contents with `payloads` (write temp, fsync, rename, fsync dir).
  std::string rewrite(const std::vector<std::string>& payloads);

  // Safe to read from any thread (the journal writer appends on its own).
  uint64_t size_bytes() const { return size_.load(std::memory_order_relaxed); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
  std::atomic<uint64_t> size_{0};
};

}  // namespace sg

#include "cluster/journal.hpp"

#include "tests/unit/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

using namespace sg;
namespace fs = std::filesystem;

namespace {

using sg::test::temp_dir;

struct opened {
  std::string error;
  std::vector<std::string> entries;
  journal_recovery recovery;
};

opened open_journal(journal& j, const std::string& path) {
  opened out;
  out.error = j.open(
      path, [&](std::string_view e) { out.entries.emplace_back(e); }, out.recovery);
  return out;
}

opened reopen(const std::string& path) {
  journal j;
  return open_journal(j, path);
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_all(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

using strings = std::vector<std::string>;

}  // namespace

TEST_CASE("journal: append then reopen replays entries in order", "[journal]") {
  temp_dir dir{"sgd-journal"};
  auto path = dir.path + "/j";
  {
    journal j;
    auto o = open_journal(j, path);
    REQUIRE(o.error.empty());
    CHECK(o.entries.empty());
    CHECK(o.recovery.dropped_bytes == 0);
    REQUIRE(j.append({"first", "second"}).empty());
    REQUIRE(j.append({std::string("bin\0ary", 7)}).empty());
    REQUIRE(j.append({""}).empty());
    CHECK(j.size_bytes() == fs::file_size(path));
  }
  auto o = reopen(path);
  REQUIRE(o.error.empty());
  CHECK(o.entries == strings{"first", "second", std::string("bin\0ary", 7), ""});
  CHECK(o.recovery.entries == 4);
  CHECK(o.recovery.dropped_bytes == 0);
  CHECK(o.recovery.valid_bytes == fs::file_size(path));
}

TEST_CASE("journal: a damaged tail is cut off and the journal stays usable", "[journal]") {
  temp_dir dir{"sgd-journal"};
  auto path = dir.path + "/j";
  {
    journal j;
    REQUIRE(open_journal(j, path).error.empty());
    REQUIRE(j.append({"alpha", "beta"}).empty());
    REQUIRE(j.append({"gamma-payload"}).empty());
  }
  const auto whole = fs::file_size(path);
  std::string expected_reason;
  strings survivors{"alpha", "beta"};

  SECTION("truncated by a few bytes") {
    fs::resize_file(path, whole - 3);
    expected_reason = "torn entry body";
  }
  SECTION("truncated inside the last entry's header") {
    fs::resize_file(path, whole - std::string("gamma-payload").size() - 3);
    expected_reason = "torn entry header";
  }
  SECTION("garbage bytes appended") {
    auto data = read_all(path);
    write_all(path, data + std::string("\x07\x00\x00\x00\xde\xad\xbe\xef" "garbage", 15));
    survivors.push_back("gamma-payload");
    expected_reason = "checksum mismatch";
  }
  SECTION("a huge length appended") {
    auto data = read_all(path);
    write_all(path, data + std::string("\xff\xff\xff\x7f\0\0\0\0", 8));
    survivors.push_back("gamma-payload");
    expected_reason = "out of bounds";
  }
  SECTION("a flipped byte in the last payload") {
    auto data = read_all(path);
    data[data.size() - 2] ^= 0x20;
    write_all(path, data);
    expected_reason = "checksum mismatch";
  }

  const auto damaged = fs::file_size(path);
  uint64_t valid = 0;
  {
    journal j;
    auto o = open_journal(j, path);
    REQUIRE(o.error.empty());
    CHECK(o.entries == survivors);
    CHECK(o.recovery.entries == survivors.size());
    CHECK(o.recovery.dropped_bytes > 0);
    CHECK(o.recovery.valid_bytes + o.recovery.dropped_bytes == damaged);
    CHECK_THAT(o.recovery.dropped_reason, Catch::Contains(expected_reason));
    valid = o.recovery.valid_bytes;
    CHECK(fs::file_size(path) == valid);  // the tail is cut on disk
    REQUIRE(j.append({"after-recovery"}).empty());
  }
  auto o = reopen(path);
  REQUIRE(o.error.empty());
  survivors.push_back("after-recovery");
  CHECK(o.entries == survivors);
  CHECK(o.recovery.dropped_bytes == 0);
  CHECK(o.recovery.valid_bytes > valid);
}

TEST_CASE("journal: a foreign file is refused with an error naming it", "[journal]") {
  temp_dir dir{"sgd-journal"};
  auto path = dir.path + "/not-a-journal";
  SECTION("bad magic") { write_all(path, "NOTSGDJ!" + std::string(32, 'x')); }
  SECTION("shorter than the magic") { write_all(path, "SGD"); }
  SECTION("empty file") { write_all(path, ""); }
  auto before = read_all(path);
  auto o = reopen(path);
  CHECK_FALSE(o.error.empty());
  CHECK_THAT(o.error, Catch::Contains(path));
  CHECK(o.entries.empty());
  CHECK(read_all(path) == before);  // nothing was cut or rewritten
}

TEST_CASE("journal: rewrite replaces the contents atomically", "[journal]") {
  temp_dir dir{"sgd-journal"};
  auto path = dir.path + "/j";
  journal j;
  REQUIRE(open_journal(j, path).error.empty());
  REQUIRE(j.append({"a", "b", "c"}).empty());
  struct stat before {};
  REQUIRE(::stat(path.c_str(), &before) == 0);

  REQUIRE(j.rewrite({"x", "y"}).empty());
  struct stat after {};
  REQUIRE(::stat(path.c_str(), &after) == 0);
  CHECK(after.st_ino != before.st_ino);  // a new file renamed over the old one
  CHECK_FALSE(fs::exists(path + ".tmp"));
  CHECK(j.size_bytes() == fs::file_size(path));
  CHECK(reopen(path).entries == strings{"x", "y"});

  // The journal keeps appending to the new file.
  REQUIRE(j.append({"z"}).empty());
  CHECK(reopen(path).entries == strings{"x", "y", "z"});

  REQUIRE(j.rewrite({}).empty());
  auto o = reopen(path);
  CHECK(o.error.empty());
  CHECK(o.entries.empty());
  CHECK(o.recovery.dropped_bytes == 0);
}

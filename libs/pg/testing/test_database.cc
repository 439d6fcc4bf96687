#include "libs/pg/testing/test_database.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <iostream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/pg/database.h"

namespace dvc::pg::testing {

absl::StatusOr<std::string> AdminUrlFromEnv() {
  const char* url = std::getenv("DATABASE_URL");
  if (url == nullptr || *url == '\0') {
    return absl::FailedPreconditionError(
        "DATABASE_URL is not set: this test needs PostgreSQL. Start one (tools/dev does) and run "
        "e.g. DATABASE_URL=postgresql://app@127.0.0.1:55432/postgres bazel test ...");
  }
  return std::string(url);
}

absl::StatusOr<std::unique_ptr<TestDatabase>> TestDatabase::Create(absl::string_view prefix) {
  auto admin = AdminUrlFromEnv();
  if (!admin.ok()) return admin.status();
  static std::atomic<int> counter{0};
  std::string name = absl::StrCat(prefix.substr(0, 24), "_", getpid(), "_",
                                  absl::ToUnixMillis(absl::Now()) % 100000000, "_",
                                  counter.fetch_add(1));
  auto url = EnsureDatabase(*admin, name);
  if (!url.ok()) return url.status();
  return std::unique_ptr<TestDatabase>(new TestDatabase(*admin, name, *url));
}

TestDatabase::~TestDatabase() {
  absl::Status s = DropDatabase(admin_url_, name_);
  if (!s.ok()) std::cerr << "TestDatabase: could not drop " << name_ << ": " << s << "\n";
}

}  // namespace dvc::pg::testing

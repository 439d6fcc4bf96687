// A uniquely named, throw-away database for tests on the server given by DATABASE_URL.
//
//   auto db = dvc::pg::testing::TestDatabase::Create("accounts");
//   ASSERT_TRUE(db.ok()) << db.status();   // fails clearly when DATABASE_URL is unset
//   dvc::pg::Pool pool({.url = (*db)->url()});
// The database is dropped (sessions terminated) when the object is destroyed.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace dvc::pg::testing {

class TestDatabase final {
 public:
  // `prefix`: [a-z0-9_], kept short; the name is "<prefix>_<pid>_<time>_<n>".
  static absl::StatusOr<std::unique_ptr<TestDatabase>> Create(absl::string_view prefix = "test");
  ~TestDatabase();
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  const std::string& url() const { return url_; }              // the test database
  const std::string& admin_url() const { return admin_url_; }  // DATABASE_URL
  const std::string& name() const { return name_; }

 private:
  TestDatabase(std::string admin_url, std::string name, std::string url)
      : admin_url_(std::move(admin_url)), name_(std::move(name)), url_(std::move(url)) {}
  std::string admin_url_, name_, url_;
};

// DATABASE_URL, or FAILED_PRECONDITION with an explanation when it is unset.
absl::StatusOr<std::string> AdminUrlFromEnv();

}  // namespace dvc::pg::testing

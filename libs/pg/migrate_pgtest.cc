// Needs PostgreSQL: DATABASE_URL=postgresql://app@127.0.0.1:55432/postgres bazel test ...
#include "libs/pg/migrate.h"

#include <thread>

#include "gtest/gtest.h"
#include "libs/pg/test_migrations.h"
#include "libs/pg/testing/test_database.h"
#include "libs/status/errors.h"

namespace dvc::pg {
namespace {

class MigrateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = testing::TestDatabase::Create("migrate");
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    pool_ = std::make_unique<Pool>(PoolOptions{db_->url(), 4});
  }
  void TearDown() override {
    pool_.reset();
    db_.reset();
  }
  std::vector<std::pair<int64_t, std::string>> Recorded() {
    std::vector<std::pair<int64_t, std::string>> out;
    EXPECT_TRUE(pool_->WithReadOnly([&](pqxx::work& tx) {
      for (auto row : tx.exec("SELECT version, checksum FROM schema_migrations ORDER BY version")) {
        out.emplace_back(row[0].as<int64_t>(), row[1].as<std::string>());
      }
      return absl::OkStatus();
    }).ok());
    return out;
  }

  std::unique_ptr<testing::TestDatabase> db_;
  std::unique_ptr<Pool> pool_;
};

TEST_F(MigrateTest, AppliesInOrderThenIsIdempotent) {
  // Given out of order: the version prefix decides.
  std::vector<EmbeddedFile> files = test_migrations::Files();
  std::reverse(files.begin(), files.end());
  MigrationReport report;
  ASSERT_TRUE(Migrate(*pool_, files, &report).ok());
  EXPECT_EQ(report.applied, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(report.current_version, 2);
  auto rec = Recorded();
  ASSERT_EQ(rec.size(), 2u);
  EXPECT_EQ(rec[0].second, Sha256Hex(test_migrations::Files()[0].content));
  EXPECT_EQ(rec[0].second.size(), 64u);

  ASSERT_TRUE(Migrate(*pool_, files, &report).ok());
  EXPECT_TRUE(report.applied.empty());
  EXPECT_EQ(report.current_version, 2);
  // The schema is usable.
  EXPECT_TRUE(pool_->WithTransaction([](pqxx::work& tx) {
    tx.exec("INSERT INTO widgets(name, color) VALUES ('w', 'red')");
    return absl::OkStatus();
  }).ok());
}

TEST_F(MigrateTest, NewFileIsAppliedLater) {
  std::vector<EmbeddedFile> files = test_migrations::Files();
  ASSERT_TRUE(Migrate(*pool_, {files[0]}).ok());
  MigrationReport report;
  ASSERT_TRUE(Migrate(*pool_, files, &report).ok());
  EXPECT_EQ(report.applied, (std::vector<int64_t>{2}));
}

TEST_F(MigrateTest, ConcurrentMigrateAppliesOnce) {
  constexpr int kThreads = 4;
  std::vector<MigrationReport> reports(kThreads);
  std::vector<absl::Status> results(kThreads);
  std::vector<std::unique_ptr<Pool>> pools;
  for (int i = 0; i < kThreads; ++i) pools.push_back(std::make_unique<Pool>(PoolOptions{db_->url(), 1}));
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      results[i] = Migrate(*pools[i], test_migrations::Files(), &reports[i]);
    });
  }
  for (auto& t : threads) t.join();
  size_t total_applied = 0;
  for (int i = 0; i < kThreads; ++i) {
    EXPECT_TRUE(results[i].ok()) << results[i];
    total_applied += reports[i].applied.size();
    EXPECT_EQ(reports[i].current_version, 2);
  }
  EXPECT_EQ(total_applied, 2u);
  EXPECT_EQ(Recorded().size(), 2u);
}

TEST_F(MigrateTest, ChecksumDriftIsDetected) {
  std::vector<EmbeddedFile> files = test_migrations::Files();
  ASSERT_TRUE(Migrate(*pool_, files).ok());
  files[0].content += "\n-- edited\n";
  files.push_back({"0003_more.sql", "CREATE TABLE more (id INT);"});
  absl::Status s = Migrate(*pool_, files);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(dvc::status::ReasonOf(s), "MIGRATION_CHECKSUM_MISMATCH");
  EXPECT_EQ(dvc::status::GetErrorInfo(s)->metadata["version"], "1");
  EXPECT_EQ(Recorded().size(), 2u);  // nothing new applied after drift
}

TEST_F(MigrateTest, DuplicateVersionsAndBadNamesAreRejected) {
  absl::Status dup = Migrate(*pool_, {{"0001_a.sql", "SELECT 1"}, {"1_b.sql", "SELECT 1"}});
  EXPECT_EQ(dvc::status::ReasonOf(dup), "MIGRATION_VERSION_DUPLICATE");
  for (const char* bad : {"create.sql", "0001.sql", "0001_x.txt", "_0001_x.sql", "0001_.sql"}) {
    absl::Status s = Migrate(*pool_, {{bad, "SELECT 1"}});
    EXPECT_EQ(dvc::status::ReasonOf(s), "MIGRATION_NAME_INVALID") << bad;
  }
}

TEST_F(MigrateTest, FailingMigrationIsRolledBackAndReported) {
  std::vector<EmbeddedFile> files = test_migrations::Files();
  files.push_back({"0003_broken.sql", "CREATE TABLE t3 (id INT); SELECT * FROM missing_table;"});
  absl::Status s = Migrate(*pool_, files);
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(dvc::status::ReasonOf(s), "MIGRATION_FAILED");
  EXPECT_EQ(Recorded().size(), 2u);
  bool t3_exists = true;
  ASSERT_TRUE(pool_->WithReadOnly([&](pqxx::work& tx) {
    t3_exists = !tx.exec1("SELECT to_regclass('t3') IS NULL")[0].as<bool>();
    return absl::OkStatus();
  }).ok());
  EXPECT_FALSE(t3_exists);
  // The advisory lock was released: a corrected run succeeds.
  files.back().content = "CREATE TABLE t3 (id INT);";
  EXPECT_TRUE(Migrate(*pool_, files).ok());
}

}  // namespace
}  // namespace dvc::pg

// Needs PostgreSQL: DATABASE_URL=postgresql://app@127.0.0.1:55432/postgres bazel test ...
#include <atomic>
#include <functional>
#include <thread>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "libs/pg/arrays.h"
#include "libs/pg/database.h"
#include "libs/pg/pool.h"
#include "libs/pg/testing/test_database.h"
#include "libs/status/errors.h"

namespace dvc::pg {
namespace {

class PoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = testing::TestDatabase::Create("pool");
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    pool_ = std::make_unique<Pool>(PoolOptions{db_->url(), 4});
    ASSERT_TRUE(pool_->WithTransaction([](pqxx::work& tx) {
      tx.exec("CREATE TABLE items (id INT PRIMARY KEY, name TEXT NOT NULL, "
              "CONSTRAINT items_name_key UNIQUE (name))");
      tx.exec("CREATE TABLE counter (id INT PRIMARY KEY, n INT NOT NULL)");
      tx.exec("INSERT INTO counter VALUES (1, 0)");
      return absl::OkStatus();
    }).ok());
  }
  void TearDown() override {
    pool_.reset();
    db_.reset();
  }

  int64_t Count(const std::string& table) {
    int64_t n = -1;
    EXPECT_TRUE(pool_->WithReadOnly([&](pqxx::work& tx) {
      n = tx.exec1("SELECT count(*) FROM " + table)[0].as<int64_t>();
      return absl::OkStatus();
    }).ok());
    return n;
  }

  std::unique_ptr<testing::TestDatabase> db_;
  std::unique_ptr<Pool> pool_;
};

TEST_F(PoolTest, CommitsOnOk) {
  ASSERT_TRUE(pool_->WithTransaction([](pqxx::work& tx) {
    tx.exec_params("INSERT INTO items VALUES ($1, $2)", 1, "a");
    return absl::OkStatus();
  }).ok());
  EXPECT_EQ(Count("items"), 1);
}

TEST_F(PoolTest, RollsBackOnErrorStatusAndReturnsIt) {
  absl::Status s = pool_->WithTransaction([](pqxx::work& tx) {
    tx.exec_params("INSERT INTO items VALUES ($1, $2)", 1, "a");
    return absl::NotFoundError("nope");
  });
  EXPECT_EQ(s, absl::NotFoundError("nope"));
  EXPECT_EQ(Count("items"), 0);
}

TEST_F(PoolTest, RollsBackOnExceptionAndMapsToInternal) {
  absl::Status s = pool_->WithTransaction([](pqxx::work& tx) {
    tx.exec_params("INSERT INTO items VALUES ($1, $2)", 1, "a");
    tx.exec("SELECT * FROM no_such_table");
    return absl::OkStatus();
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(Count("items"), 0);
}

TEST_F(PoolTest, UniqueViolationIsDistinguishableWithConstraintName) {
  ASSERT_TRUE(pool_->WithTransaction([](pqxx::work& tx) {
    tx.exec_params("INSERT INTO items VALUES ($1, $2)", 1, "a");
    return absl::OkStatus();
  }).ok());
  absl::Status s = pool_->WithTransaction([](pqxx::work& tx) {
    tx.exec_params("INSERT INTO items VALUES ($1, $2)", 2, "a");
    return absl::OkStatus();
  });
  EXPECT_TRUE(IsUniqueViolation(s)) << s;
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(UniqueViolationConstraint(s), "items_name_key");
  // The key value never appears in the status.
  EXPECT_EQ(std::string(s.message()).find("(name)=(a)"), std::string::npos);

  absl::Status pk = pool_->WithTransaction([](pqxx::work& tx) {
    tx.exec_params("INSERT INTO items VALUES ($1, $2)", 1, "b");
    return absl::OkStatus();
  });
  EXPECT_EQ(UniqueViolationConstraint(pk), "items_pkey");
  EXPECT_FALSE(IsUniqueViolation(absl::AlreadyExistsError("x")));
  EXPECT_FALSE(IsUniqueViolation(absl::OkStatus()));
}

TEST_F(PoolTest, SerializableConflictIsRetried) {
  // Two serializable read-modify-write transactions on the same row, forced to overlap: the
  // loser gets 40001 and is re-run, so both increments land.
  absl::Notification a_read, b_read;
  std::atomic<int> attempts{0};
  auto body = [&](absl::Notification* mine, absl::Notification* other) {
    return [&, mine, other](pqxx::work& tx) {
      ++attempts;
      int n = tx.exec1("SELECT n FROM counter WHERE id = 1")[0].as<int>();
      if (!mine->HasBeenNotified()) mine->Notify();
      other->WaitForNotificationWithTimeout(absl::Seconds(5));
      tx.exec_params("UPDATE counter SET n = $1 WHERE id = 1", n + 1);
      return absl::OkStatus();
    };
  };
  TxOptions opts{Isolation::kSerializable, 5};
  absl::Status sa, sb;
  std::thread ta([&] { sa = pool_->WithTransaction(body(&a_read, &b_read), opts); });
  std::thread tb([&] { sb = pool_->WithTransaction(body(&b_read, &a_read), opts); });
  ta.join();
  tb.join();
  EXPECT_TRUE(sa.ok()) << sa;
  EXPECT_TRUE(sb.ok()) << sb;
  EXPECT_GE(attempts.load(), 3);  // at least one re-run
  int n = 0;
  ASSERT_TRUE(pool_->WithReadOnly([&](pqxx::work& tx) {
    n = tx.exec1("SELECT n FROM counter WHERE id = 1")[0].as<int>();
    return absl::OkStatus();
  }).ok());
  EXPECT_EQ(n, 2);
}

TEST_F(PoolTest, ConflictWithoutRetriesIsAborted) {
  absl::Notification a_read, b_read;
  auto body = [&](absl::Notification* mine, absl::Notification* other) {
    return [&, mine, other](pqxx::work& tx) {
      int n = tx.exec1("SELECT n FROM counter WHERE id = 1")[0].as<int>();
      if (!mine->HasBeenNotified()) mine->Notify();
      other->WaitForNotificationWithTimeout(absl::Seconds(5));
      tx.exec_params("UPDATE counter SET n = $1 WHERE id = 1", n + 1);
      return absl::OkStatus();
    };
  };
  TxOptions opts{Isolation::kSerializable, 0};
  absl::Status sa, sb;
  std::thread ta([&] { sa = pool_->WithTransaction(body(&a_read, &b_read), opts); });
  std::thread tb([&] { sb = pool_->WithTransaction(body(&b_read, &a_read), opts); });
  ta.join();
  tb.join();
  // Exactly one wins; the other reports ABORTED / DB_CONFLICT.
  EXPECT_NE(sa.ok(), sb.ok()) << sa << " / " << sb;
  const absl::Status& loser = sa.ok() ? sb : sa;
  EXPECT_EQ(loser.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(dvc::status::ReasonOf(loser), kReasonConflict);
}

TEST_F(PoolTest, ReadOnlyRejectsWrites) {
  absl::Status s = pool_->WithReadOnly([](pqxx::work& tx) {
    tx.exec("INSERT INTO items VALUES (9, 'z')");
    return absl::OkStatus();
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(Count("items"), 0);
}

TEST_F(PoolTest, AcquireTimesOutWhenExhaustedAndCountsLeases) {
  Pool small(PoolOptions{db_->url(), 2});
  EXPECT_EQ(small.Size(), 2);
  EXPECT_EQ(small.Open(), 0);  // lazy
  auto a = small.Acquire(absl::Seconds(1));
  auto b = small.Acquire(absl::Seconds(1));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(small.InUse(), 2);
  EXPECT_EQ(small.Open(), 2);
  auto c = small.Acquire(absl::Milliseconds(50));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(dvc::status::ReasonOf(c.status()), kReasonPoolExhausted);
  { Lease released = std::move(*a); }
  EXPECT_EQ(small.InUse(), 1);
  auto d = small.Acquire(absl::Milliseconds(50));
  EXPECT_TRUE(d.ok());
  EXPECT_EQ(small.Open(), 2);  // reused, not reopened
}

// Kills the idle pooled session of a one-connection pool between two calls of `backend_pid`
// (which runs SELECT pg_backend_pid() through the pool): the second call must succeed on a new
// connection.
void ExpectDeadIdleConnectionReplaced(Pool& killer, Pool& small,
                                      const std::function<absl::StatusOr<int>()>& backend_pid) {
  absl::StatusOr<int> first_pid = backend_pid();
  ASSERT_TRUE(first_pid.ok()) << first_pid.status();
  ASSERT_TRUE(killer.WithTransaction([&](pqxx::work& tx) {
    tx.exec_params("SELECT pg_terminate_backend($1)", *first_pid);
    return absl::OkStatus();
  }).ok());
  absl::SleepFor(absl::Milliseconds(100));
  absl::StatusOr<int> second_pid = backend_pid();
  ASSERT_TRUE(second_pid.ok()) << second_pid.status();
  EXPECT_NE(*second_pid, *first_pid);
  EXPECT_EQ(small.InUse(), 0);
}

TEST_F(PoolTest, BrokenConnectionIsReplaced) {
  Pool small(PoolOptions{db_->url(), 1});
  ExpectDeadIdleConnectionReplaced(*pool_, small, [&]() -> absl::StatusOr<int> {
    int pid = 0;
    absl::Status s = small.WithTransaction([&](pqxx::work& tx) {
      pid = tx.exec1("SELECT pg_backend_pid()")[0].as<int>();
      return absl::OkStatus();
    });
    if (!s.ok()) return s;
    return pid;
  });
}

TEST_F(PoolTest, AsyncCommitTransactionIsATransactionWithoutTheFlushWait) {
  // Inside: one transaction (now() is fixed), synchronous_commit off for it only.
  ASSERT_TRUE(pool_->WithAsyncCommit([](pqxx::transaction_base& tx) {
    EXPECT_EQ(tx.exec1("SHOW synchronous_commit")[0].as<std::string>(), "off");
    EXPECT_FALSE(tx.exec1("SELECT now() = statement_timestamp()")[0].as<bool>());
    ExecPrepared(tx, "INSERT INTO items VALUES ($1, $2)", 1, "a");
    return absl::OkStatus();
  }).ok());
  EXPECT_EQ(Count("items"), 1);
  // An error status rolls everything back, like WithTransaction.
  absl::Status s = pool_->WithAsyncCommit([](pqxx::transaction_base& tx) {
    ExecPrepared(tx, "INSERT INTO items VALUES ($1, $2)", 2, "b");
    return absl::NotFoundError("nope");
  });
  EXPECT_EQ(s, absl::NotFoundError("nope"));
  EXPECT_EQ(Count("items"), 1);
  // A unique violation is mapped, and nothing of the transaction stays.
  s = pool_->WithAsyncCommit([](pqxx::transaction_base& tx) {
    tx.exec("UPDATE counter SET n = n + 1 WHERE id = 1");
    tx.exec("INSERT INTO items VALUES (3, 'a')");
    return absl::OkStatus();
  });
  EXPECT_TRUE(IsUniqueViolation(s)) << s;
  EXPECT_EQ(Count("counter WHERE n = 0"), 1);
  // The setting does not leak to the next user of the connection.
  Pool one(PoolOptions{db_->url(), 1});
  ASSERT_TRUE(one.WithAsyncCommit([](pqxx::transaction_base&) { return absl::OkStatus(); }).ok());
  ASSERT_TRUE(one.WithTransaction([](pqxx::work& tx) {
    EXPECT_EQ(tx.exec1("SHOW synchronous_commit")[0].as<std::string>(), "on");
    return absl::OkStatus();
  }).ok());
}

TEST_F(PoolTest, StatementRunsWithoutTransactionAndCommitsAsItGoes) {
  // No BEGIN: PostgreSQL reports no transaction block, and a statement that succeeded before a
  // failing one stays (there is nothing to roll back).
  absl::Status s = pool_->WithStatement([](pqxx::transaction_base& tx) {
    EXPECT_EQ(tx.exec1("SELECT now() = statement_timestamp()")[0].as<bool>(), true);
    ExecPrepared(tx, "INSERT INTO items VALUES ($1, $2)", 1, "a");
    return absl::NotFoundError("after the insert");
  });
  EXPECT_EQ(s, absl::NotFoundError("after the insert"));
  EXPECT_EQ(Count("items"), 1);
  // A data-modifying WITH is one statement: all of it or nothing.
  s = pool_->WithStatement([](pqxx::transaction_base& tx) {
    tx.exec("WITH c AS (UPDATE counter SET n = n + 1 WHERE id = 1 RETURNING n) "
            "INSERT INTO items SELECT 2, 'a' FROM c");
    return absl::OkStatus();
  });
  EXPECT_TRUE(IsUniqueViolation(s)) << s;
  EXPECT_EQ(UniqueViolationConstraint(s), "items_name_key");
  int64_t n = -1;
  ASSERT_TRUE(pool_->WithStatement([&](pqxx::transaction_base& tx) {
    n = tx.exec1("SELECT n FROM counter WHERE id = 1")[0].as<int64_t>();
    return absl::OkStatus();
  }).ok());
  EXPECT_EQ(n, 0);
  EXPECT_EQ(pool_->InUse(), 0);
}

TEST_F(PoolTest, StatementOnADeadPooledConnectionIsRetriedOnANewOne) {
  Pool small(PoolOptions{db_->url(), 1});
  ExpectDeadIdleConnectionReplaced(*pool_, small, [&]() -> absl::StatusOr<int> {
    int pid = 0;
    absl::Status s = small.WithStatement([&](pqxx::transaction_base& tx) {
      pid = tx.exec1("SELECT pg_backend_pid()")[0].as<int>();
      return absl::OkStatus();
    });
    if (!s.ok()) return s;
    return pid;
  });
}

TEST_F(PoolTest, ArrayLiteralsRoundTripThroughUnnest) {
  const std::vector<std::string> texts = {"plain", "", "NULL", "a,b", "{x}", "q\"uote",
                                          "back\\slash", " sp ", "Nguyễn"};
  const std::vector<int64_t> ints = {0, -1, 9007199254740993LL, 42};
  std::vector<std::string> got_texts;
  std::vector<int64_t> got_ints;
  ASSERT_TRUE(pool_->WithStatement([&](pqxx::transaction_base& tx) {
    for (const pqxx::row& r :
         tx.exec_params("SELECT t IS NULL, t FROM unnest($1::text[]) WITH ORDINALITY AS u(t, n) "
                        "ORDER BY n",
                        TextArray(texts))) {
      EXPECT_FALSE(r[0].as<bool>());
      got_texts.push_back(r[1].as<std::string>());
    }
    for (const pqxx::row& r : tx.exec_params(
             "SELECT v FROM unnest($1::bigint[]) WITH ORDINALITY AS u(v, n) ORDER BY n",
             IntArray(ints))) {
      got_ints.push_back(r[0].as<int64_t>());
    }
    EXPECT_EQ(tx.exec_params1("SELECT cardinality($1::int[])", IntArray(std::vector<int>{}))[0]
                  .as<int>(),
              0);
    const std::vector<std::optional<int64_t>> opt = {7, std::nullopt, -3};
    pqxx::result nulls = tx.exec_params(
        "SELECT v IS NULL, COALESCE(v, 0) FROM unnest($1::bigint[]) WITH ORDINALITY AS u(v, n) "
        "ORDER BY n",
        IntArray(opt));
    EXPECT_EQ(nulls.size(), 3u);
    for (size_t i = 0; i < nulls.size() && i < opt.size(); ++i) {
      EXPECT_EQ(nulls[i][0].as<bool>(), !opt[i].has_value()) << i;
      EXPECT_EQ(nulls[i][1].as<int64_t>(), opt[i].value_or(0)) << i;
    }
    return absl::OkStatus();
  }).ok());
  EXPECT_EQ(got_texts, texts);
  EXPECT_EQ(got_ints, ints);
}

TEST(PoolNoServerTest, UnreachableServerIsUnavailable) {
  Pool pool(PoolOptions{"postgresql://app@127.0.0.1:1/x?connect_timeout=2", 1});
  absl::Status s = pool.WithTransaction([](pqxx::work&) { return absl::OkStatus(); });
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(dvc::status::ReasonOf(s), kReasonUnavailable);
  EXPECT_EQ(pool.InUse(), 0);
  EXPECT_EQ(pool.Open(), 0);
}

TEST(EnsureDatabaseTest, CreatesOnceAndIsIdempotentUnderRace) {
  auto admin = testing::AdminUrlFromEnv();
  ASSERT_TRUE(admin.ok()) << admin.status();
  const std::string name = "ensure_" + std::to_string(getpid());
  ASSERT_TRUE(DropDatabase(*admin, name).ok());
  absl::StatusOr<std::string> r1, r2;
  std::thread t1([&] { r1 = EnsureDatabase(*admin, name); });
  std::thread t2([&] { r2 = EnsureDatabase(*admin, name); });
  t1.join();
  t2.join();
  ASSERT_TRUE(r1.ok()) << r1.status();
  ASSERT_TRUE(r2.ok()) << r2.status();
  EXPECT_EQ(*r1, *r2);
  auto r3 = EnsureDatabase(*admin, name);
  ASSERT_TRUE(r3.ok()) << r3.status();
  Pool pool(PoolOptions{*r3, 1});
  std::string current;
  ASSERT_TRUE(pool.WithTransaction([&](pqxx::work& tx) {
    current = tx.exec1("SELECT current_database()")[0].as<std::string>();
    return absl::OkStatus();
  }).ok());
  EXPECT_EQ(current, name);
  EXPECT_TRUE(DropDatabase(*admin, name).ok());
  EXPECT_EQ(dvc::status::ReasonOf(EnsureDatabase(*admin, "bad-name").status()), "DB_NAME_INVALID");
}

TEST(PreparedTest, SameTextRunsPreparedAgainAndAgainOnEveryConnection) {
  auto db = testing::TestDatabase::Create("prep");
  ASSERT_TRUE(db.ok()) << db.status();
  Pool pool({.url = (*db)->url(), .size = 2});
  for (int round = 0; round < 3; ++round) {
    absl::Status s = pool.WithTransaction([&](pqxx::work& tx) {
      pqxx::result r = ExecPrepared(tx, "SELECT $1::int + $2::int", round, 40);
      EXPECT_EQ(r[0][0].as<int>(), round + 40);
      pqxx::result n = ExecPrepared(tx, "SELECT count(*) FROM pg_prepared_statements");
      EXPECT_GE(n[0][0].as<int>(), 1);
      return absl::OkStatus();
    });
    ASSERT_TRUE(s.ok()) << s;
  }
  EXPECT_NE(PreparedName("SELECT 1"), PreparedName("SELECT 2"));
}

// With PostgreSQL's default plan_cache_mode, a statement with array parameters is planned again
// on every execution (its custom plans look cheaper than the generic one): the pool's
// connections must plan it once.
TEST(PreparedTest, ArrayStatementsArePlannedOncePerConnection) {
  auto db = testing::TestDatabase::Create("plans");
  ASSERT_TRUE(db.ok()) << db.status();
  Pool pool({.url = (*db)->url(), .size = 1});
  ASSERT_TRUE(pool.WithTransaction([](pqxx::work& tx) {
                    tx.exec("CREATE TABLE kv (k text PRIMARY KEY, v int NOT NULL)");
                    tx.exec("INSERT INTO kv SELECT 'k' || i, i FROM generate_series(1, 1000) i");
                    tx.exec("ANALYZE kv");
                    return absl::OkStatus();
                  })
                  .ok());
  const std::string sql =
      "SELECT count(*) FROM kv JOIN unnest($1::text[]) AS u(k) USING (k) WHERE v > $2";
  for (int i = 0; i < 12; ++i) {
    absl::Status s = pool.WithTransaction([&](pqxx::work& tx) {
      pqxx::result r = ExecPrepared(tx, sql, TextArray({"k1", "k2", "k3"}), 1);
      EXPECT_EQ(r[0][0].as<int>(), 2);
      return absl::OkStatus();
    });
    ASSERT_TRUE(s.ok()) << s;
  }
  ASSERT_TRUE(pool.WithTransaction([&](pqxx::work& tx) {
                    pqxx::row r = tx.exec_params1(
                        "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
                        "WHERE name = $1",
                        PreparedName(sql));
                    EXPECT_EQ(r[1].as<int>(), 0);
                    EXPECT_EQ(r[0].as<int>(), 12);
                    return absl::OkStatus();
                  })
                  .ok());
}

}  // namespace
}  // namespace dvc::pg

// Needs PostgreSQL (DATABASE_URL); Kafka is an in-process mock cluster.
#include "libs/kafka/outbox.h"

#include <cstdio>
#include <iostream>
#include <map>
#include <set>

#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "libs/kafka/mock_cluster.h"
#include "libs/kafka/testing/test_consumer.h"
#include "libs/pg/pool.h"
#include "libs/pg/testing/test_database.h"
#include "libs/status/errors.h"

namespace dvc::kafka {
namespace {

std::string Uuid(int n) { return absl::StrFormat("00000000-0000-4000-8000-%012d", n); }

class OutboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = pg::testing::TestDatabase::Create("outbox");
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    pool_ = std::make_unique<pg::Pool>(pg::PoolOptions{db_->url(), 6});
    ASSERT_TRUE(pool_->WithTransaction([](pqxx::work& tx) {
      tx.exec(kOutboxDdl);
      tx.exec("CREATE TABLE accounts (id TEXT PRIMARY KEY)");
      return absl::OkStatus();
    }).ok());
    auto c = MockCluster::Create(3);
    ASSERT_TRUE(c.ok()) << c.status();
    cluster_ = std::move(*c);
    ASSERT_TRUE(cluster_->CreateTopic("dvc.accounts.v1", 3).ok());
  }
  void TearDown() override {
    pool_.reset();
    db_.reset();
  }

  // One business transaction: an account row plus its event.
  absl::Status CreateAccount(int n) {
    return pool_->WithTransaction([n](pqxx::work& tx) {
      std::string id = "acc-" + std::to_string(n);
      tx.exec_params("INSERT INTO accounts VALUES ($1)", id);
      return EnqueueEvent(tx, {Uuid(n), "dvc.accounts.v1", id, std::string("\0evt", 4) + id,
                               {{"type", "AccountCreated"}, {"quote", "a\"b\\c\n"}}});
    });
  }

  OutboxRelayOptions RelayOptions() {
    OutboxRelayOptions o;
    o.producer.bootstrap_servers = cluster_->bootstrap();
    o.producer.client_id = "outbox-test";
    o.producer.delivery_timeout = absl::Seconds(2);
    o.batch_size = 20;
    o.poll_interval = absl::Milliseconds(200);
    o.min_backoff = absl::Milliseconds(50);
    o.max_backoff = absl::Milliseconds(500);
    return o;
  }

  int64_t Unpublished() {
    int64_t n = -1;
    EXPECT_TRUE(pool_->WithReadOnly([&](pqxx::work& tx) {
      n = tx.exec1("SELECT count(*) FROM outbox WHERE published_at IS NULL")[0].as<int64_t>();
      return absl::OkStatus();
    }).ok());
    return n;
  }

  std::unique_ptr<pg::testing::TestDatabase> db_;
  std::unique_ptr<pg::Pool> pool_;
  std::unique_ptr<MockCluster> cluster_;
};

TEST_F(OutboxTest, EventIsRolledBackWithTheBusinessChange) {
  absl::Status s = pool_->WithTransaction([](pqxx::work& tx) {
    absl::Status e = EnqueueEvent(tx, {Uuid(1), "dvc.accounts.v1", "k", "p", {}});
    if (!e.ok()) return e;
    return absl::FailedPreconditionError("business rule failed");
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Unpublished(), 0);
}

TEST_F(OutboxTest, RejectsInvalidAndDuplicateEvents) {
  absl::Status bad_id = pool_->WithTransaction([](pqxx::work& tx) {
    return EnqueueEvent(tx, {"not-a-uuid", "t", "k", "p", {}});
  });
  EXPECT_EQ(dvc::status::ReasonOf(bad_id), "OUTBOX_EVENT_INVALID");
  absl::Status no_topic = pool_->WithTransaction([](pqxx::work& tx) {
    return EnqueueEvent(tx, {Uuid(1), "", "k", "p", {}});
  });
  EXPECT_EQ(dvc::status::ReasonOf(no_topic), "OUTBOX_EVENT_INVALID");
  ASSERT_TRUE(CreateAccount(1).ok());
  absl::Status dup = pool_->WithTransaction([](pqxx::work& tx) {
    return EnqueueEvent(tx, {Uuid(1), "dvc.accounts.v1", "k", "p", {}});
  });
  EXPECT_TRUE(pg::IsUniqueViolation(dup)) << dup;
  EXPECT_EQ(pg::UniqueViolationConstraint(dup), "outbox_event_id_key");
}

TEST_F(OutboxTest, PublishOnceKeepsRowsWhenBrokerIsDown) {
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(CreateAccount(i).ok());
  OutboxRelay relay(pool_.get(), RelayOptions());
  ASSERT_TRUE(cluster_->SetBrokerDown().ok());
  absl::StatusOr<int> r = relay.PublishOnce();
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(Unpublished(), 3);
  auto stats = relay.Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->unpublished, 3);
  EXPECT_GT(stats->oldest_unpublished_age_s, 0.0);
  EXPECT_EQ(stats->failed_total, 3);

  ASSERT_TRUE(cluster_->SetBrokerUp().ok());
  int published = 0;
  for (int i = 0; i < 20 && published < 3; ++i) {
    auto again = relay.PublishOnce();
    if (again.ok()) published += *again;
  }
  EXPECT_EQ(published, 3);
  EXPECT_EQ(Unpublished(), 0);
  stats = relay.Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->published_total, 3);
  EXPECT_EQ(stats->oldest_unpublished_age_s, 0.0);

  auto consumer = testing::TestConsumer::Create(cluster_->bootstrap(), "dvc.accounts.v1");
  ASSERT_TRUE(consumer.ok());
  auto got = (*consumer)->Consume(3, absl::Seconds(10));
  ASSERT_EQ(got.size(), 3u);
  for (const auto& m : got) {
    EXPECT_EQ(m.Header("type"), "AccountCreated");
    EXPECT_EQ(m.Header("quote"), "a\"b\\c\n");
    ASSERT_TRUE(m.Header("event_id").has_value());
    EXPECT_EQ(m.value, std::string("\0evt", 4) + m.key);
  }
}

TEST_F(OutboxTest, RelaySurvivesBrokerOutageWithoutLosingEvents) {
  OutboxRelay relay(pool_.get(), RelayOptions());
  ASSERT_TRUE(relay.Start().ok());
  auto consumer = testing::TestConsumer::Create(cluster_->bootstrap(), "dvc.accounts.v1");
  ASSERT_TRUE(consumer.ok()) << consumer.status();

  std::set<std::string> enqueued;
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(CreateAccount(i).ok());
    enqueued.insert(Uuid(i));
  }
  std::map<std::string, int> seen;  // event_id -> times received
  std::map<std::string, std::string> key_of;
  auto absorb = [&](const std::vector<testing::ConsumedMessage>& msgs) {
    for (const auto& m : msgs) {
      std::string id = m.Header("event_id").value_or("");
      ++seen[id];
      key_of[id] = m.key;
    }
  };
  absorb((*consumer)->Consume(50, absl::Seconds(20)));
  ASSERT_EQ(seen.size(), 50u) << "first 50 events not all published";

  // Outage longer than the delivery timeout: deliveries fail and rows must stay unpublished.
  ASSERT_TRUE(cluster_->SetBrokerDown().ok());
  for (int i = 50; i < 100; ++i) {
    ASSERT_TRUE(CreateAccount(i).ok());
    enqueued.insert(Uuid(i));
  }
  absl::SleepFor(absl::Seconds(5));
  auto during = relay.Stats();
  ASSERT_TRUE(during.ok());
  EXPECT_EQ(during->unpublished, 50);  // nothing marked while the broker was down
  EXPECT_GT(during->failed_total, 0);
  EXPECT_GE(during->oldest_unpublished_age_s, 4.0);

  ASSERT_TRUE(cluster_->SetBrokerUp().ok());
  absl::Time deadline = absl::Now() + absl::Seconds(40);
  while (seen.size() < enqueued.size() && absl::Now() < deadline) {
    absorb((*consumer)->Consume(enqueued.size(), absl::Seconds(1)));
  }
  // Late duplicates, if any, would arrive right behind: read a little more.
  absorb((*consumer)->Consume(1000, absl::Seconds(2)));

  std::set<std::string> received;
  int duplicates = 0;
  for (const auto& [id, n] : seen) {
    received.insert(id);
    duplicates += n - 1;
  }
  EXPECT_EQ(received, enqueued);
  EXPECT_EQ(key_of[Uuid(77)], "acc-77");
  std::cout << "outbox outage test: " << enqueued.size() << " events, " << duplicates
            << " duplicate deliveries\n";
  RecordProperty("duplicates", duplicates);
  EXPECT_EQ(duplicates, 0) << "idempotent producer + mark-after-ack should not duplicate";

  deadline = absl::Now() + absl::Seconds(10);
  while (Unpublished() != 0 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(Unpublished(), 0);
  relay.Stop();
  auto after = relay.Stats();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->published_total, 100);
  EXPECT_EQ(after->unpublished, 0);
}

TEST_F(OutboxTest, StopDrainsPendingEvents) {
  OutboxRelayOptions o = RelayOptions();
  o.listen = false;
  o.poll_interval = absl::Seconds(30);  // only the drain can publish the late events
  OutboxRelay relay(pool_.get(), o);
  ASSERT_TRUE(relay.Start().ok());
  absl::SleepFor(absl::Milliseconds(300));  // relay is now waiting out its poll interval
  for (int i = 0; i < 45; ++i) ASSERT_TRUE(CreateAccount(i).ok());
  relay.Stop(absl::Seconds(10));
  EXPECT_EQ(Unpublished(), 0);
  auto stats = relay.Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->published_total, 45);
}

TEST_F(OutboxTest, ListenWakesRelayQuickly) {
  OutboxRelayOptions o = RelayOptions();
  o.poll_interval = absl::Seconds(30);  // without NOTIFY the event would wait 30 s
  OutboxRelay relay(pool_.get(), o);
  ASSERT_TRUE(relay.Start().ok());
  absl::SleepFor(absl::Milliseconds(500));  // relay idle, listening
  auto consumer = testing::TestConsumer::Create(cluster_->bootstrap(), "dvc.accounts.v1");
  ASSERT_TRUE(consumer.ok());
  absl::Time start = absl::Now();
  ASSERT_TRUE(CreateAccount(7).ok());
  auto got = (*consumer)->Consume(1, absl::Seconds(10));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  relay.Stop();
}

}  // namespace
}  // namespace dvc::kafka

// The challenge and remote-signature stores on real PostgreSQL: single use under concurrency,
// binding to flow and purpose, expiry, first outcome wins.
#include "services/sigverify/adapters/pg_signature_stores.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "libs/pg/migrate.h"
#include "libs/pg/testing/test_database.h"
#include "libs/status/errors.h"
#include "services/sigverify/migrations.h"

namespace dvc::sigverify {
namespace {

using status::ReasonOf;

class PgStoresTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = pg::testing::TestDatabase::Create("sigverify_stores");
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    pool_ = std::make_unique<pg::Pool>(pg::PoolOptions{.url = db_->url(), .size = 8});
    ASSERT_TRUE(pg::Migrate(*pool_, migrations::Files()).ok());
  }
  StoredChallenge Challenge(const std::string& id) {
    return StoredChallenge{id, "flow-1", Purpose::kLogin, "text to sign " + id, t0_ + absl::Minutes(5)};
  }
  std::unique_ptr<pg::testing::TestDatabase> db_;
  std::unique_ptr<pg::Pool> pool_;
  const absl::Time t0_ = absl::FromUnixSeconds(1795000000);
};

constexpr char kId1[] = "8f14e45f-ceea-467a-9a36-dedd4bea2543";
constexpr char kId2[] = "c9f0f895-fb98-4b91-9f2a-a4e3e3f7a6b1";

TEST_F(PgStoresTest, ChallengeIsConsumedOnceAndOnlyForItsFlowAndPurpose) {
  PgChallengeStore store(pool_.get());
  ASSERT_TRUE(store.Insert(Challenge(kId1)).ok());
  // Another flow or purpose does not see it, and does not spend it.
  EXPECT_EQ(ReasonOf(store.Consume(kId1, "flow-2", Purpose::kLogin, t0_).status()),
            "CHALLENGE_NOT_FOUND");
  EXPECT_EQ(ReasonOf(store.Consume(kId1, "flow-1", Purpose::kRegistration, t0_).status()),
            "CHALLENGE_NOT_FOUND");
  EXPECT_EQ(ReasonOf(store.Consume("not-a-uuid", "flow-1", Purpose::kLogin, t0_).status()),
            "CHALLENGE_NOT_FOUND");
  auto c = store.Consume(kId1, "flow-1", Purpose::kLogin, t0_);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->challenge, std::string("text to sign ") + kId1);
  EXPECT_EQ(c->expires_at, t0_ + absl::Minutes(5));
  EXPECT_EQ(ReasonOf(store.Consume(kId1, "flow-1", Purpose::kLogin, t0_).status()),
            "CHALLENGE_USED");
}

TEST_F(PgStoresTest, ExpiredChallengeIsRefused) {
  PgChallengeStore store(pool_.get());
  ASSERT_TRUE(store.Insert(Challenge(kId1)).ok());
  auto c = store.Consume(kId1, "flow-1", Purpose::kLogin, t0_ + absl::Minutes(5));
  EXPECT_EQ(ReasonOf(c.status()), "CHALLENGE_EXPIRED");
  auto purged = store.PurgeExpired(t0_ + absl::Minutes(6));
  ASSERT_TRUE(purged.ok());
  EXPECT_EQ(*purged, 1);
  EXPECT_EQ(ReasonOf(store.Consume(kId1, "flow-1", Purpose::kLogin, t0_).status()),
            "CHALLENGE_NOT_FOUND");
}

TEST_F(PgStoresTest, ConcurrentConsumersExactlyOneWins) {
  PgChallengeStore store(pool_.get());
  ASSERT_TRUE(store.Insert(Challenge(kId1)).ok());
  std::atomic<int> wins{0}, used{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      auto c = store.Consume(kId1, "flow-1", Purpose::kLogin, t0_);
      if (c.ok()) ++wins;
      else if (ReasonOf(c.status()) == "CHALLENGE_USED") ++used;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wins.load(), 1);
  EXPECT_EQ(used.load(), 7);
}

TEST_F(PgStoresTest, RemoteSignatureKeepsItsFirstOutcome) {
  PgRemoteSignatureStore store(pool_.get());
  RemoteSignature tx;
  tx.transaction_id = kId2;
  tx.flow_id = "flow-9";
  tx.purpose = Purpose::kRegistration;
  tx.provider = RemoteProvider::kSmartCa;
  tx.challenge = "challenge";
  tx.provider_transaction_id = "ptx-1";
  tx.start_chain = {std::string("\x30\x82\x01\x00", 4), std::string("\x30\x00", 2)};
  tx.expires_at = t0_ + absl::Minutes(3);
  ASSERT_TRUE(store.Insert(tx).ok());

  EXPECT_EQ(ReasonOf(store.Get(kId2, "flow-other", Purpose::kRegistration).status()),
            "REMOTE_SIGNATURE_NOT_FOUND");
  auto got = store.Get(kId2, "flow-9", Purpose::kRegistration);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->state, RemoteSignature::State::kPending);
  EXPECT_EQ(got->provider, RemoteProvider::kSmartCa);
  EXPECT_EQ(got->start_chain, tx.start_chain);  // binary DER survives
  EXPECT_EQ(got->expires_at, tx.expires_at);

  ASSERT_TRUE(store.MarkFailed(kId2, "SIGNER_USER_CANCELLED").ok());
  ASSERT_TRUE(store.MarkDone(kId2, {"late"}).ok());  // too late: the first outcome stays
  got = store.Get(kId2, "flow-9", Purpose::kRegistration);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->state, RemoteSignature::State::kFailed);
  EXPECT_EQ(got->failure_reason, "SIGNER_USER_CANCELLED");
  EXPECT_TRUE(got->result_chain.empty());
}

}  // namespace
}  // namespace dvc::sigverify

// Needs PostgreSQL: DATABASE_URL=postgresql://app@127.0.0.1:55432/postgres bazel test ...
#include "services/otp/adapters/pg_otp_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "libs/clock/clock.h"
#include "libs/crypto/aead.h"
#include "libs/crypto/random.h"
#include "libs/pg/migrate.h"
#include "libs/pg/pool.h"
#include "libs/pg/testing/test_database.h"
#include "libs/status/errors.h"
#include "services/otp/domain/otp.h"
#include "services/otp/migrations.h"
#include "services/otp/testing/fakes.h"

namespace dvc::otp {
namespace {

using ::dvc::status::ReasonOf;

class PgOtpStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = pg::testing::TestDatabase::Create("otp");
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    pool_ = std::make_unique<pg::Pool>(pg::PoolOptions{db_->url(), 12});
    ASSERT_TRUE(pg::Migrate(*pool_, migrations::Files()).ok());
    store_ = std::make_unique<PgOtpStore>(pool_.get());
    auto cipher = crypto::FieldCipher::Create("k1", std::string(32, 'K'));
    ASSERT_TRUE(cipher.ok());
    cipher_ = std::make_unique<crypto::FieldCipher>(std::move(*cipher));
    domain_ = std::make_unique<OtpDomain>(store_.get(), &sms_, &clock_, &random_, cipher_.get(),
                                          OtpKeys{"code-key", "index-key"}, options_);
  }
  void TearDown() override {
    domain_.reset();
    store_.reset();
    pool_.reset();
    db_.reset();
  }

  Challenge Sample(const std::string& id, const std::string& rid) {
    Challenge c;
    c.id = id;
    c.request_id = rid;
    c.purpose = "LOGIN";
    c.phone_sealed = "k1.sealed";
    c.phone_index = "pidx";
    c.subject_index = "sidx";
    c.code_hmac = "abcd";
    c.seq = 1;
    c.delivery = Delivery::kPending;
    c.attempts_left = 5;
    c.deliveries = 0;
    c.created_at = absl::FromUnixMicros(1795000000123456);
    c.expires_at = c.created_at + absl::Minutes(5);
    c.resend_after = c.created_at + absl::Seconds(60);
    return c;
  }

  // The challenge as stored (nullopt when absent or on error, which fails the test).
  std::optional<Challenge> Load(const std::string& id) {
    std::optional<Challenge> got;
    EXPECT_TRUE(store_->InTransaction(Commit::kDurable, [&](OtpTx& tx) -> absl::Status {
      auto r = tx.LockById(id);
      if (!r.ok()) return r.status();
      got = *r;
      return absl::OkStatus();
    }).ok());
    return got;
  }

  int64_t Count(const std::string& sql) {
    int64_t n = -1;
    EXPECT_TRUE(pool_->WithReadOnly([&](pqxx::work& tx) {
      n = tx.exec1(sql)[0].as<int64_t>();
      return absl::OkStatus();
    }).ok());
    return n;
  }

  std::unique_ptr<pg::testing::TestDatabase> db_;
  std::unique_ptr<pg::Pool> pool_;
  std::unique_ptr<PgOtpStore> store_;
  std::unique_ptr<crypto::FieldCipher> cipher_;
  FakeClock clock_;
  crypto::OsRandom random_;
  testing::FakeSmsSender sms_;
  OtpOptions options_;
  std::unique_ptr<OtpDomain> domain_;
};

constexpr char kId1[] = "0b5c1e9a-3d2f-4c8e-9a1b-2c3d4e5f6a7b";
constexpr char kId2[] = "1b5c1e9a-3d2f-4c8e-9a1b-2c3d4e5f6a7b";

TEST_F(PgOtpStoreTest, ChallengeRoundTripsEveryField) {
  Challenge c = Sample(kId1, "req-1");
  ASSERT_TRUE(store_->InTransaction(Commit::kDurable, [&](OtpTx& tx) -> absl::Status {
    auto inserted = tx.InsertIfAbsent(c);
    if (!inserted.ok()) return inserted.status();
    EXPECT_TRUE(*inserted);
    return absl::OkStatus();
  }).ok());
  std::optional<Challenge> got = Load(kId1);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->request_id, "req-1");
  EXPECT_EQ(got->phone_sealed, "k1.sealed");
  EXPECT_EQ(got->phone_index, "pidx");
  EXPECT_EQ(got->subject_index, "sidx");
  EXPECT_EQ(got->code_hmac, "abcd");
  EXPECT_EQ(got->delivery, Delivery::kPending);
  EXPECT_EQ(got->attempts_left, 5);
  EXPECT_EQ(got->created_at, c.created_at);  // microsecond precision preserved
  EXPECT_EQ(got->expires_at, c.expires_at);
  EXPECT_EQ(got->resend_after, c.resend_after);
  EXPECT_FALSE(got->used_at.has_value());
  EXPECT_EQ(got->used_key, "");
  EXPECT_EQ(Count("SELECT count(*) FROM otp_challenges WHERE used_key IS NULL"), 1);  // "" → NULL

  got->code_hmac = "ef01";
  got->seq = 2;
  got->delivery = Delivery::kSent;
  got->attempts_left = 3;
  got->deliveries = 2;
  got->expires_at += absl::Seconds(1);
  got->used_at = c.created_at + absl::Microseconds(7);
  got->used_key = "login:6f1c2a3b-0000-4000-8000-0000000000ff";
  ASSERT_TRUE(store_->InTransaction(Commit::kDurable, [&](OtpTx& tx) { return tx.Update(*got); }).ok());
  std::optional<Challenge> again;
  ASSERT_TRUE(store_->InTransaction(Commit::kDurable, [&](OtpTx& tx) -> absl::Status {
    auto r = tx.LockByRequestId("req-1");
    if (!r.ok()) return r.status();
    again = *r;
    return absl::OkStatus();
  }).ok());
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->id, kId1);
  EXPECT_EQ(again->code_hmac, "ef01");
  EXPECT_EQ(again->seq, 2);
  EXPECT_EQ(again->delivery, Delivery::kSent);
  EXPECT_EQ(again->attempts_left, 3);
  EXPECT_EQ(again->deliveries, 2);
  EXPECT_EQ(again->expires_at, c.expires_at + absl::Seconds(1));
  ASSERT_TRUE(again->used_at.has_value());
  EXPECT_EQ(*again->used_at, c.created_at + absl::Microseconds(7));
  EXPECT_EQ(again->used_key, "login:6f1c2a3b-0000-4000-8000-0000000000ff");

  // Unknown ids and request ids.
  ASSERT_TRUE(store_->InTransaction(Commit::kDurable, [&](OtpTx& tx) -> absl::Status {
    EXPECT_FALSE(tx.LockById(kId2)->has_value());
    EXPECT_FALSE(tx.LockByRequestId("nope")->has_value());
    return absl::OkStatus();
  }).ok());
}

TEST_F(PgOtpStoreTest, InsertIfAbsentRefusesADuplicateRequestId) {
  ASSERT_TRUE(store_->InTransaction(Commit::kDurable, [&](OtpTx& tx) -> absl::Status {
    EXPECT_TRUE(*tx.InsertIfAbsent(Sample(kId1, "same")));
    EXPECT_FALSE(*tx.InsertIfAbsent(Sample(kId2, "same")));
    return absl::OkStatus();
  }).ok());
  EXPECT_EQ(Count("SELECT count(*) FROM otp_challenges"), 1);
}

// The adapter's one-statement insert-and-lock must answer as InsertIfAbsent followed by
// TryRecordSend: a taken request_id writes nothing (no key row, no send); a new challenge is
// recorded under every key, unless one is full.
TEST_F(PgOtpStoreTest, InsertIfAbsentAndRecordSendActsAsTheTwoCalls) {
  const absl::Time t0 = absl::FromUnixSeconds(1795000000);
  const std::vector<SendLimit> limits = {{"subject:s", 5, absl::Hours(1)},
                                         {"phone:x", 1, absl::Minutes(15)}};
  auto send = [&](const char* id, const std::string& request_id, absl::Time now) {
    OtpTx::InsertedSend out;
    EXPECT_TRUE(store_->InTransaction(Commit::kDurable, [&](OtpTx& tx) -> absl::Status {
      auto r = tx.InsertIfAbsentAndRecordSend(Sample(id, request_id), limits, now);
      if (!r.ok()) return r.status();
      out = *r;
      return absl::OkStatus();
    }).ok());
    return out;
  };
  OtpTx::InsertedSend first = send(kId1, "r-1", t0);
  EXPECT_TRUE(first.inserted);
  EXPECT_FALSE(first.wait.has_value());
  EXPECT_EQ(Count("SELECT count(*) FROM otp_sends WHERE challenge_id = '" + std::string(kId1) +
                  "'"),
            2);
  EXPECT_EQ(Count("SELECT count(*) FROM otp_send_keys"), 2);

  OtpTx::InsertedSend again = send(kId2, "r-1", t0);  // the same request_id
  EXPECT_FALSE(again.inserted);
  EXPECT_EQ(Count("SELECT count(*) FROM otp_challenges"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM otp_sends"), 2);

  // A new challenge for the same phone inside its window: inserted, the phone key is full.
  OtpTx::InsertedSend full = send(kId2, "r-2", t0 + absl::Minutes(5));
  EXPECT_TRUE(full.inserted);
  ASSERT_TRUE(full.wait.has_value());
  EXPECT_EQ(*full.wait, absl::Minutes(10));
  EXPECT_EQ(Count("SELECT count(*) FROM otp_sends"), 2);

  // Keys are only created for new challenges.
  ASSERT_TRUE(store_->InTransaction(Commit::kDurable, [&](OtpTx& tx) -> absl::Status {
    auto r = tx.InsertIfAbsentAndRecordSend(Sample(kId2, "r-1"),
                                            {{"phone:never", 5, absl::Minutes(15)}}, t0);
    if (!r.ok()) return r.status();
    EXPECT_FALSE(r->inserted);
    return absl::OkStatus();
  }).ok());
  EXPECT_EQ(Count("SELECT count(*) FROM otp_send_keys WHERE key = 'phone:never'"), 0);
}

TEST_F(PgOtpStoreTest, SendLimitSlidingWindowAndRefund) {
  const absl::Time t0 = absl::FromUnixSeconds(1795000000);
  std::vector<SendLimit> limits = {{"phone:x", 2, absl::Minutes(15)},
                                   {"subject:y", 3, absl::Hours(1)}};
  auto record = [&](absl::Time now, int seq) {
    std::optional<absl::Duration> wait;
    EXPECT_TRUE(store_->InTransaction(Commit::kDurable, [&](OtpTx& tx) -> absl::Status {
      auto r = tx.TryRecordSend(limits, now, kId1, seq);
      if (!r.ok()) return r.status();
      wait = *r;
      return absl::OkStatus();
    }).ok());
    return wait;
  };
  EXPECT_FALSE(record(t0, 1).has_value());
  EXPECT_FALSE(record(t0 + absl::Minutes(1), 2).has_value());
  auto w = record(t0 + absl::Minutes(2), 3);
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(*w, absl::Minutes(13));
  EXPECT_EQ(Count("SELECT count(*) FROM otp_sends"), 4);  // the refused send recorded nothing
  // At exactly t0 + 15 min the first send has left the phone window.
  EXPECT_FALSE(record(t0 + absl::Minutes(15), 3).has_value());
  // The subject key is now full (3 within the hour): it decides the wait.
  w = record(t0 + absl::Minutes(31), 4);
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(*w, absl::Minutes(29));
  // A failed delivery's send no longer counts (recorded for challenge kId1, code 3).
  ASSERT_TRUE(store_->InTransaction(Commit::kDurable, [&](OtpTx& tx) -> absl::Status {
    auto inserted = tx.InsertIfAbsent(Sample(kId1, "r-refund"));
    if (!inserted.ok()) return inserted.status();
    return *inserted ? absl::OkStatus() : absl::InternalError("not inserted");
  }).ok());
  auto failed = store_->RecordDelivery(kId1, 3, DeliveryOutcome::kFailed, t0);
  ASSERT_TRUE(failed.ok()) << failed.status();
  EXPECT_EQ(Count("SELECT count(*) FROM otp_sends WHERE seq = 3"), 0);
  EXPECT_FALSE(record(t0 + absl::Minutes(31), 4).has_value());
}

TEST_F(PgOtpStoreTest, RecordDeliveryIsOneIdempotentStatement) {
  const absl::Time t0 = absl::FromUnixSeconds(1795000000);
  ASSERT_TRUE(store_->InTransaction(Commit::kDurable, [&](OtpTx& tx) -> absl::Status {
    auto inserted = tx.InsertIfAbsent(Sample(kId1, "r1"));
    if (!inserted.ok()) return inserted.status();
    return tx.TryRecordSend({{"phone:x", 5, absl::Minutes(15)}}, t0, kId1, 1).status();
  }).ok());
  // SENT for the current, pending code: delivered once, however often it is recorded.
  for (int i = 0; i < 2; ++i) {
    auto after = store_->RecordDelivery(kId1, 1, DeliveryOutcome::kSent, t0 + absl::Seconds(i));
    ASSERT_TRUE(after.ok()) << after.status();
    ASSERT_TRUE(after->has_value());
    EXPECT_EQ((*after)->delivery, Delivery::kSent);
    EXPECT_EQ((*after)->deliveries, 1);
    EXPECT_EQ((*after)->request_id, "r1");
  }
  EXPECT_EQ(Count("SELECT count(*) FROM otp_deliveries"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM otp_sends"), 1);
  // An answer for an older code (a resend replaced it) leaves the challenge as it is, but is
  // logged, and a failure gives its send back.
  ASSERT_TRUE(store_->InTransaction(Commit::kDurable, [&](OtpTx& tx) -> absl::Status {
    Challenge c = Sample(kId1, "r1");
    c.seq = 2;
    c.deliveries = 1;
    if (auto u = tx.Update(c); !u.ok()) return u;
    return tx.TryRecordSend({{"phone:x", 5, absl::Minutes(15)}}, t0, kId1, 2).status();
  }).ok());
  auto stale = store_->RecordDelivery(kId1, 1, DeliveryOutcome::kFailed, t0 + absl::Seconds(5));
  ASSERT_TRUE(stale.ok() && stale->has_value());
  EXPECT_EQ((*stale)->seq, 2);
  EXPECT_EQ((*stale)->delivery, Delivery::kPending);
  EXPECT_EQ(Count("SELECT count(*) FROM otp_sends WHERE seq = 1"), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM otp_sends WHERE seq = 2"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM otp_deliveries WHERE attempt = 1 AND outcome = 'FAILED'"),
            1);
  // FAILED for the current code.
  auto failed = store_->RecordDelivery(kId1, 2, DeliveryOutcome::kFailed, t0 + absl::Seconds(6));
  ASSERT_TRUE(failed.ok() && failed->has_value());
  EXPECT_EQ((*failed)->delivery, Delivery::kFailed);
  EXPECT_EQ((*failed)->deliveries, 1);
  EXPECT_EQ(Count("SELECT count(*) FROM otp_sends"), 0);
  // An unknown challenge: nothing written.
  auto gone = store_->RecordDelivery(kId2, 1, DeliveryOutcome::kSent, t0);
  ASSERT_TRUE(gone.ok()) << gone.status();
  EXPECT_FALSE(gone->has_value());
  EXPECT_EQ(
      Count(absl::StrCat("SELECT count(*) FROM otp_deliveries WHERE challenge_id = '", kId2, "'")),
      0);
}

TEST_F(PgOtpStoreTest, DeliveryLogHoldsNoCodeOrPhone) {
  sms_.SetFailure(absl::UnavailableError("down"));
  EXPECT_EQ(ReasonOf(domain_->Send({"r1", "0912345678", "LOGIN", "s"}).status()),
            "SMS_UNAVAILABLE");
  sms_.SetFailure(absl::OkStatus());
  ASSERT_TRUE(domain_->Send({"r1", "0912345678", "LOGIN", "s"}).ok());
  EXPECT_EQ(Count("SELECT count(*) FROM otp_deliveries WHERE outcome = 'FAILED' AND attempt = 1"),
            1);
  EXPECT_EQ(Count("SELECT count(*) FROM otp_deliveries WHERE outcome = 'SENT' AND attempt = 2"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM otp_sends"), 2);  // the failed send was refunded
  // Nothing at rest contains the phone number or the code.
  const std::string code = sms_.LastCode("84912345678");
  ASSERT_EQ(code.size(), 6u);
  for (const std::string table : {"otp_challenges", "otp_sends", "otp_send_keys",
                                  "otp_deliveries"}) {
    EXPECT_EQ(Count("SELECT count(*) FROM " + table + " t WHERE t::text LIKE '%912345678%' OR "
                    "t::text LIKE '%" + code + "%'"),
              0)
        << table;
  }
}

TEST_F(PgOtpStoreTest, ConcurrentVerifyOfTheSameCodeSucceedsExactlyOnce) {
  for (int round = 0; round < 10; ++round) {
    auto v = domain_->Send({"r" + std::to_string(round), "0912345678", "LOGIN",
                            "s" + std::to_string(round)});
    ASSERT_TRUE(v.ok()) << v.status();
    const std::string code = sms_.LastCode("84912345678");
    std::atomic<int> ok{0}, used{0}, other{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 2 + round % 4; ++t) {
      threads.emplace_back([&] {
        auto r = domain_->Verify(v->challenge_id, code, "LOGIN");
        if (r.ok()) {
          ++ok;
        } else if (ReasonOf(r.status()) == "OTP_ALREADY_USED") {
          ++used;
        } else {
          ++other;
        }
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(ok.load(), 1) << round;
    EXPECT_EQ(used.load(), 1 + round % 4) << round;
    EXPECT_EQ(other.load(), 0) << round;
    // The challenge's phone limit is 5 per 15 minutes: move on.
    clock_.Advance(absl::Minutes(16));
  }
}

TEST_F(PgOtpStoreTest, InsertedUsedKeyRoundTrips) {
  Challenge c = Sample(kId2, "req-2");
  c.used_at = c.created_at;
  c.used_key = "registration:flow.1_x-y";
  ASSERT_TRUE(store_->InTransaction(Commit::kDurable, [&](OtpTx& tx) {
    return tx.InsertIfAbsent(c).status();
  }).ok());
  std::optional<Challenge> got = Load(kId2);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->used_key, "registration:flow.1_x-y");
}

// The step that consumed a code, retried concurrently with its key: every call gets the phone,
// the code is consumed once, and no attempt is spent.
TEST_F(PgOtpStoreTest, ConcurrentRetriesWithTheConsumingKeyAllSucceed) {
  auto v = domain_->Send({"r1", "0912345678", "LOGIN", "s"});
  ASSERT_TRUE(v.ok()) << v.status();
  const std::string code = sms_.LastCode("84912345678");
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      auto r = domain_->Verify(v->challenge_id, code, "LOGIN", "login:flow-1");
      if (r.ok() && *r == "0912345678") ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 4);
  EXPECT_EQ(ReasonOf(domain_->Verify(v->challenge_id, code, "LOGIN", "login:flow-2").status()),
            "OTP_ALREADY_USED");
  EXPECT_EQ(Count("SELECT count(*) FROM otp_challenges WHERE used_key = 'login:flow-1' AND "
                  "attempts_left = 5 AND used_at IS NOT NULL"),
            1);
}

TEST_F(PgOtpStoreTest, ConcurrentWrongCodesCountEveryAttempt) {
  auto v = domain_->Send({"r1", "0912345678", "LOGIN", "s"});
  ASSERT_TRUE(v.ok());
  const std::string code = sms_.LastCode("84912345678");
  const std::string wrong = code == "000000" ? "111111" : "000000";
  std::mutex mu;
  std::multiset<std::string> left;
  std::atomic<int> exceeded{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 9; ++t) {
    threads.emplace_back([&] {
      auto r = domain_->Verify(v->challenge_id, wrong, "LOGIN");
      if (ReasonOf(r.status()) == "OTP_INVALID") {
        std::lock_guard<std::mutex> l(mu);
        left.insert(status::GetErrorInfo(r.status())->metadata.at("attempts_left"));
      } else if (ReasonOf(r.status()) == "OTP_ATTEMPTS_EXCEEDED") {
        ++exceeded;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(left, (std::multiset<std::string>{"0", "1", "2", "3", "4"}));
  EXPECT_EQ(exceeded.load(), 4);
  EXPECT_EQ(ReasonOf(domain_->Verify(v->challenge_id, code, "LOGIN").status()),
            "OTP_ATTEMPTS_EXCEEDED");
}

TEST_F(PgOtpStoreTest, ConcurrentSendsHitThePhoneLimitExactly) {
  constexpr int kThreads = 16;
  std::atomic<int> ok{0}, limited{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Distinct requests and subjects: only the phone limit (5) applies.
      auto r = domain_->Send({"req-" + std::to_string(t), "+84912345678", "LOGIN",
                              "subject-" + std::to_string(t)});
      if (r.ok()) {
        ++ok;
      } else if (ReasonOf(r.status()) == "OTP_SEND_LIMIT") {
        ++limited;
      } else {
        ++other;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 5);
  EXPECT_EQ(limited.load(), kThreads - 5);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(sms_.Sent().size(), 5u);
  EXPECT_EQ(Count("SELECT count(*) FROM otp_challenges"), 5);
}

TEST_F(PgOtpStoreTest, ConcurrentSendsHitTheSubjectLimitExactly) {
  constexpr int kThreads = 16;
  std::atomic<int> ok{0}, limited{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      char phone[16];
      std::snprintf(phone, sizeof(phone), "09100000%02d", t);
      auto r = domain_->Send({"req-" + std::to_string(t), phone, "LOGIN", "one-subject"});
      if (r.ok()) ++ok;
      if (ReasonOf(r.status()) == "OTP_SEND_LIMIT") ++limited;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 10);
  EXPECT_EQ(limited.load(), kThreads - 10);
}

TEST_F(PgOtpStoreTest, ConcurrentRetriesOfOneRequestSendOneSms) {
  std::mutex mu;
  std::set<std::string> ids;
  std::atomic<int> in_progress{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      auto r = domain_->Send({"same-request", "0912345678", "LOGIN", "s"});
      if (r.ok()) {
        std::lock_guard<std::mutex> l(mu);
        ids.insert(r->challenge_id);
      } else if (ReasonOf(r.status()) == "OTP_SEND_IN_PROGRESS") {
        ++in_progress;
      } else {
        ++other;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ids.size(), 1u);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(sms_.Sent().size(), 1u);
  EXPECT_EQ(Count("SELECT count(*) FROM otp_challenges"), 1);
}

TEST_F(PgOtpStoreTest, ConcurrentResendsSendOneCode) {
  auto v = domain_->Send({"r1", "0912345678", "LOGIN", "s"});
  ASSERT_TRUE(v.ok());
  clock_.Advance(absl::Seconds(60));
  std::atomic<int> ok{0}, too_soon{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&] {
      auto r = domain_->Resend(v->challenge_id);
      if (r.ok()) ++ok;
      if (ReasonOf(r.status()) == "OTP_RESEND_TOO_SOON") ++too_soon;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(too_soon.load(), 5);
  EXPECT_EQ(sms_.Sent().size(), 2u);
}

TEST_F(PgOtpStoreTest, PurgeRemovesOldRows) {
  ASSERT_TRUE(domain_->Send({"r1", "0912345678", "LOGIN", "s"}).ok());
  clock_.Advance(absl::Hours(2));
  ASSERT_TRUE(domain_->Send({"r2", "0912345678", "LOGIN", "s"}).ok());
  const absl::Time now = clock_.Now();
  auto n = store_->Purge(now - absl::Hours(1), now - absl::Hours(1), now - absl::Hours(1));
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 1);
  EXPECT_EQ(Count("SELECT count(*) FROM otp_challenges"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM otp_sends"), 2);
  EXPECT_EQ(Count("SELECT count(*) FROM otp_send_keys"), 2);
  EXPECT_EQ(Count("SELECT count(*) FROM otp_deliveries"), 1);
  n = store_->Purge(now + absl::Hours(1), now + absl::Hours(1), now + absl::Hours(1));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(Count("SELECT count(*) FROM otp_send_keys"), 0);
}

}  // namespace
}  // namespace dvc::otp

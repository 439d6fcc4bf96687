#include "services/auth/adapters/kafka_account_events.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "libs/kafka/consumer.h"
#include "libs/kafka/mock_cluster.h"
#include "libs/kafka/producer.h"
#include "protos/dvc/events/v1/account_events.pb.h"

namespace dvc::auth {
namespace {

namespace ev = ::dvc::events::v1;

constexpr char kAccountId[] = "6f1c2a3b-0000-4000-8000-000000000001";
const absl::Time kOccurred = absl::FromUnixMicros(1795000000123456);

struct Call {
  std::string account_id;
  std::string reason;
  std::optional<absl::Time> changed_at;
};

// Records calls; answers `next` (OK → 1 session revoked).
class FakeRevoker {
 public:
  RevokeAllSessionsFn Fn() {
    return [this](const std::string& account_id, const std::string& reason,
                  std::optional<absl::Time> changed_at) -> absl::StatusOr<int> {
      absl::MutexLock l(&mu_);
      calls_.push_back({account_id, reason, changed_at});
      if (!fail_with_.empty()) {
        absl::Status s = fail_with_.front();
        fail_with_.erase(fail_with_.begin());
        return s;
      }
      return 1;
    };
  }
  void FailNext(absl::Status s) {
    absl::MutexLock l(&mu_);
    fail_with_.push_back(std::move(s));
  }
  std::vector<Call> calls() const {
    absl::MutexLock l(&mu_);
    return calls_;
  }
  bool WaitForCalls(size_t n, absl::Duration timeout) const {
    absl::MutexLock l(&mu_);
    auto enough = [this, n]() { return calls_.size() >= n; };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<Call> calls_;
  std::vector<absl::Status> fail_with_;
};

ev::AccountEvent Credential(const std::string& type, const std::string& change,
                            const std::string& account_id = kAccountId) {
  ev::AccountEvent e;
  e.set_event_id("0b7a2c1e-0000-4000-8000-000000000009");
  e.set_account_id(account_id);
  int64_t us = absl::ToUnixMicros(kOccurred);
  e.mutable_occurred_at()->set_seconds(us / 1000000);
  e.mutable_occurred_at()->set_nanos(static_cast<int32_t>((us % 1000000) * 1000));
  e.mutable_credential_changed()->set_credential_type(type);
  e.mutable_credential_changed()->set_change(change);
  return e;
}

kafka::ReceivedMessage Msg(const std::string& payload) {
  kafka::ReceivedMessage m;
  m.topic = kAccountsTopic;
  m.partition = 0;
  m.offset = 7;
  m.key = kAccountId;
  m.value = payload;
  return m;
}

TEST(AccountEventHandlerTest, PasswordChangeRevokesSessionsBegunBeforeTheChange) {
  FakeRevoker revoker;
  AccountEventHandler handler(revoker.Fn());
  ASSERT_TRUE(handler.Handle(Msg(Credential("PASSWORD", "CHANGED").SerializeAsString())).ok());
  std::vector<Call> calls = revoker.calls();
  ASSERT_EQ(calls.size(), 1u);
  const Call& c = calls[0];
  EXPECT_EQ(c.account_id, kAccountId);
  EXPECT_EQ(c.reason, "PASSWORD_CHANGED");
  ASSERT_TRUE(c.changed_at.has_value());
  EXPECT_EQ(*c.changed_at, kOccurred + absl::Seconds(5));  // default clock skew
}

TEST(AccountEventHandlerTest, ConfiguredSkewAndMissingTime) {
  FakeRevoker revoker;
  AccountEventHandler handler(revoker.Fn(), {.clock_skew = absl::ZeroDuration()});
  ev::AccountEvent e = Credential("PASSWORD", "CHANGED");
  ASSERT_TRUE(handler.Handle(Msg(e.SerializeAsString())).ok());
  e.clear_occurred_at();
  ASSERT_TRUE(handler.Handle(Msg(e.SerializeAsString())).ok());
  ASSERT_EQ(revoker.calls().size(), 2u);
  EXPECT_EQ(revoker.calls()[0].changed_at, kOccurred);
  EXPECT_FALSE(revoker.calls()[1].changed_at.has_value());  // the domain uses "now"
}

TEST(AccountEventHandlerTest, OtherEventsAreIgnored) {
  FakeRevoker revoker;
  AccountEventHandler handler(revoker.Fn());
  ev::AccountEvent created;
  created.set_event_id("e1");
  created.set_account_id(kAccountId);
  created.mutable_account_created()->set_ial(2);
  ev::AccountEvent empty_kind;
  empty_kind.set_account_id(kAccountId);
  for (const ev::AccountEvent& e :
       {Credential("PASSWORD", "SET"), Credential("PASSWORD", "REHASHED"),
        Credential("PASSWORD", "REMOVED"), Credential("password", "CHANGED"),
        Credential("CERTIFICATE", "CHANGED"), Credential("PHONE", "CHANGED"), created,
        empty_kind}) {
    EXPECT_TRUE(handler.Handle(Msg(e.SerializeAsString())).ok()) << e.ShortDebugString();
  }
  EXPECT_TRUE(revoker.calls().empty());
}

TEST(AccountEventHandlerTest, BadMessagesAreSkippedNotRetried) {
  FakeRevoker revoker;
  AccountEventHandler handler(revoker.Fn());
  // Truncated varint: not a protobuf.
  EXPECT_TRUE(handler.Handle(Msg(std::string("\x08", 1))).ok());
  EXPECT_TRUE(handler.Handle(Msg(std::string("\xff\xff\xff\xff", 4))).ok());
  // No account id.
  EXPECT_TRUE(handler.Handle(Msg(Credential("PASSWORD", "CHANGED", "").SerializeAsString())).ok());
  EXPECT_TRUE(revoker.calls().empty());
  // An account id the domain rejects: retrying cannot help.
  revoker.FailNext(absl::InvalidArgumentError("ACCOUNT_ID_INVALID"));
  EXPECT_TRUE(
      handler.Handle(Msg(Credential("PASSWORD", "CHANGED", "nope").SerializeAsString())).ok());
  EXPECT_EQ(revoker.calls().size(), 1u);
}

TEST(AccountEventHandlerTest, StoreFailuresAreReturnedForRetry) {
  FakeRevoker revoker;
  AccountEventHandler handler(revoker.Fn());
  revoker.FailNext(absl::UnavailableError("db down"));
  const std::string payload = Credential("PASSWORD", "CHANGED").SerializeAsString();
  EXPECT_EQ(handler.Handle(Msg(payload)).code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(handler.Handle(Msg(payload)).ok());
  EXPECT_EQ(revoker.calls().size(), 2u);
}

// Through Kafka: a garbage message does not block the partition, and a revocation that fails
// once (database down) is retried.
TEST(AccountEventHandlerTest, ThroughTheConsumer) {
  auto cluster = kafka::MockCluster::Create(1);
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  ASSERT_TRUE((*cluster)->CreateTopic(kAccountsTopic, 1).ok());
  auto producer = kafka::Producer::Create({.bootstrap_servers = (*cluster)->bootstrap()});
  ASSERT_TRUE(producer.ok()) << producer.status();
  for (const std::string& payload :
       {std::string("\x08", 1), Credential("PASSWORD", "SET").SerializeAsString(),
        Credential("PASSWORD", "CHANGED").SerializeAsString()}) {
    ASSERT_TRUE((*producer)
                    ->ProduceSync({kAccountsTopic, kAccountId, payload, {{"event_id", "x"}}},
                                  absl::Seconds(10))
                    .ok());
  }
  FakeRevoker revoker;
  revoker.FailNext(absl::UnavailableError("db down"));
  AccountEventHandler handler(revoker.Fn());
  kafka::ConsumerOptions o;
  o.bootstrap_servers = (*cluster)->bootstrap();
  o.group_id = "auth";
  o.topics = {kAccountsTopic};
  o.retry_backoff_initial = absl::Milliseconds(50);
  o.retry_backoff_max = absl::Milliseconds(100);
  auto consumer = kafka::Consumer::Create(o);
  ASSERT_TRUE(consumer.ok()) << consumer.status();
  ASSERT_TRUE(
      (*consumer)->Start([&](const kafka::ReceivedMessage& m) { return handler.Handle(m); }).ok());
  ASSERT_TRUE(revoker.WaitForCalls(2, absl::Seconds(30)));
  absl::SleepFor(absl::Milliseconds(300));
  (*consumer)->Stop();
  EXPECT_EQ(revoker.calls().size(), 2u);
  EXPECT_EQ((*consumer)->handled_total(), 3);
  EXPECT_EQ((*consumer)->failed_total(), 1);
}

}  // namespace
}  // namespace dvc::auth

#include "libs/kafka/consumer.h"

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "libs/kafka/mock_cluster.h"
#include "libs/kafka/producer.h"

namespace dvc::kafka {
namespace {

constexpr char kTopic[] = "t.consume";

// Thread-safe record of what a handler saw.
class Recorder {
 public:
  void Add(const ReceivedMessage& m) {
    absl::MutexLock l(&mu_);
    seen_.push_back(m);
  }
  std::vector<ReceivedMessage> Seen() const {
    absl::MutexLock l(&mu_);
    return seen_;
  }
  std::vector<std::string> Values() const {
    std::vector<std::string> out;
    for (const auto& m : Seen()) out.push_back(m.value);
    return out;
  }
  // Waits until at least n messages were recorded.
  bool WaitFor(size_t n, absl::Duration timeout) const {
    absl::MutexLock l(&mu_);
    auto enough = [this, n]() { return seen_.size() >= n; };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<ReceivedMessage> seen_;
};

class ConsumerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = MockCluster::Create(1);
    ASSERT_TRUE(c.ok()) << c.status();
    cluster_ = std::move(*c);
    auto p = Producer::Create({.bootstrap_servers = cluster_->bootstrap(),
                               .client_id = "consumer-test",
                               .delivery_timeout = absl::Seconds(30)});
    ASSERT_TRUE(p.ok()) << p.status();
    producer_ = std::move(*p);
  }

  void CreateTopic(int partitions) { ASSERT_TRUE(cluster_->CreateTopic(kTopic, partitions).ok()); }

  void Produce(const std::string& key, const std::string& value) {
    auto r = producer_->ProduceSync({kTopic, key, value, {{"event_id", "e-" + value}}},
                                    absl::Seconds(10));
    ASSERT_TRUE(r.ok()) << r.status();
  }

  ConsumerOptions Options(const std::string& group) {
    ConsumerOptions o;
    o.bootstrap_servers = cluster_->bootstrap();
    o.group_id = group;
    o.topics = {kTopic};
    o.client_id = "consumer-test";
    o.retry_backoff_initial = absl::Milliseconds(50);
    o.retry_backoff_max = absl::Milliseconds(200);
    // The mock coordinator completes a rebalance only after the session timeout of a member
    // that left: keep it short so that a successor joins quickly.
    o.extra["session.timeout.ms"] = "6000";
    o.extra["heartbeat.interval.ms"] = "500";
    return o;
  }

  std::unique_ptr<Consumer> NewConsumer(const std::string& group) {
    auto c = Consumer::Create(Options(group));
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? std::move(*c) : nullptr;
  }

  std::unique_ptr<MockCluster> cluster_;
  std::unique_ptr<Producer> producer_;
};

TEST_F(ConsumerTest, CreateRejectsIncompleteOptions) {
  ConsumerOptions o = Options("g");
  o.group_id = "";
  EXPECT_EQ(Consumer::Create(o).status().code(), absl::StatusCode::kInvalidArgument);
  o = Options("g");
  o.topics = {};
  EXPECT_EQ(Consumer::Create(o).status().code(), absl::StatusCode::kInvalidArgument);
  o = Options("g");
  o.bootstrap_servers = "";
  EXPECT_EQ(Consumer::Create(o).status().code(), absl::StatusCode::kInvalidArgument);
  o = Options("g");
  o.retry_backoff_max = absl::Milliseconds(1);
  EXPECT_EQ(Consumer::Create(o).status().code(), absl::StatusCode::kInvalidArgument);
  o = Options("g");
  o.extra["no.such.property"] = "1";
  EXPECT_EQ(Consumer::Create(o).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ConsumerTest, StartsOnlyOnce) {
  CreateTopic(1);
  auto c = NewConsumer("g-once");
  ASSERT_NE(c, nullptr);
  auto ok = [](const ReceivedMessage&) { return absl::OkStatus(); };
  ASSERT_TRUE(c->Start(ok).ok());
  EXPECT_EQ(c->Start(ok).code(), absl::StatusCode::kFailedPrecondition);
  std::atomic<bool> stop{true};
  EXPECT_EQ(c->Run(ok, stop).code(), absl::StatusCode::kFailedPrecondition);
  c->Stop();
  c->Stop();  // idempotent
}

TEST_F(ConsumerTest, HandlesMessagesProducedBeforeAndAfterStart) {
  CreateTopic(3);
  for (int i = 0; i < 5; ++i) Produce("k" + std::to_string(i), "before-" + std::to_string(i));
  Recorder rec;
  auto c = NewConsumer("g-before-after");
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->Start([&](const ReceivedMessage& m) {
                 rec.Add(m);
                 return absl::OkStatus();
               }).ok());
  for (int i = 0; i < 5; ++i) Produce("k" + std::to_string(i), "after-" + std::to_string(i));
  ASSERT_TRUE(rec.WaitFor(10, absl::Seconds(30))) << rec.Seen().size();
  std::vector<std::string> values = rec.Values();
  std::set<std::string> unique(values.begin(), values.end());
  EXPECT_EQ(unique.size(), 10u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(unique.count("before-" + std::to_string(i))) << i;
    EXPECT_TRUE(unique.count("after-" + std::to_string(i))) << i;
  }
  // Key, headers and coordinates come through.
  for (const ReceivedMessage& m : rec.Seen()) {
    EXPECT_EQ(m.topic, kTopic);
    EXPECT_GE(m.partition, 0);
    EXPECT_GE(m.offset, 0);
    EXPECT_EQ(m.key.substr(0, 1), "k");
    EXPECT_EQ(m.Header("event_id"), "e-" + m.value);
  }
  c->Stop();
  EXPECT_EQ(c->handled_total(), 10);
  EXPECT_EQ(c->failed_total(), 0);
}

TEST_F(ConsumerTest, FailedMessageIsRetriedBeforeLaterMessagesOfItsPartition) {
  CreateTopic(1);
  for (const char* v : {"m1", "m2", "m3"}) Produce("same-key", v);
  Recorder attempts, done;
  std::map<std::string, int> tries;  // only touched by the consumer thread
  auto c = NewConsumer("g-retry");
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->Start([&](const ReceivedMessage& m) -> absl::Status {
                 attempts.Add(m);
                 if (++tries[m.value] <= 2 && m.value == "m2") {
                   return absl::UnavailableError("database down");
                 }
                 done.Add(m);
                 return absl::OkStatus();
               }).ok());
  ASSERT_TRUE(done.WaitFor(3, absl::Seconds(30)));
  c->Stop();
  EXPECT_EQ(done.Values(), (std::vector<std::string>{"m1", "m2", "m3"}));
  // m2 failed twice and was then handled; m3 was never attempted before m2 succeeded.
  EXPECT_EQ(attempts.Values(), (std::vector<std::string>{"m1", "m2", "m2", "m2", "m3"}));
  EXPECT_EQ(c->failed_total(), 2);
  EXPECT_EQ(c->handled_total(), 3);
}

TEST_F(ConsumerTest, SuccessorInGroupResumesAfterCommittedOffset) {
  CreateTopic(2);
  for (int i = 0; i < 4; ++i) Produce("k" + std::to_string(i), "first-" + std::to_string(i));
  {
    Recorder rec;
    auto a = NewConsumer("g-resume");
    ASSERT_NE(a, nullptr);
    ASSERT_TRUE(a->Start([&](const ReceivedMessage& m) {
                   rec.Add(m);
                   return absl::OkStatus();
                 }).ok());
    ASSERT_TRUE(rec.WaitFor(4, absl::Seconds(30)));
    a->Stop();
  }
  for (int i = 0; i < 3; ++i) Produce("k" + std::to_string(i), "second-" + std::to_string(i));

  Recorder rec;
  auto b = NewConsumer("g-resume");
  ASSERT_NE(b, nullptr);
  ASSERT_TRUE(b->Start([&](const ReceivedMessage& m) {
                 rec.Add(m);
                 return absl::OkStatus();
               }).ok());
  ASSERT_TRUE(rec.WaitFor(3, absl::Seconds(30)));
  absl::SleepFor(absl::Seconds(2));  // anything re-delivered would arrive meanwhile
  b->Stop();
  std::vector<std::string> values = rec.Values();
  std::multiset<std::string> got(values.begin(), values.end());
  EXPECT_EQ(got, (std::multiset<std::string>{"second-0", "second-1", "second-2"}));
}

TEST_F(ConsumerTest, MessageNotHandledBeforeStopIsDeliveredToSuccessor) {
  CreateTopic(1);
  Produce("k", "ok-1");
  Produce("k", "poison-until-restart");
  Produce("k", "ok-2");
  {
    Recorder failures;
    auto a = NewConsumer("g-redeliver");
    ASSERT_NE(a, nullptr);
    ASSERT_TRUE(a->Start([&](const ReceivedMessage& m) -> absl::Status {
                   if (m.value == "ok-1") return absl::OkStatus();
                   failures.Add(m);
                   return absl::InternalError("not now");
                 }).ok());
    ASSERT_TRUE(failures.WaitFor(2, absl::Seconds(30)));
    a->Stop();
    for (const std::string& v : failures.Values()) EXPECT_EQ(v, "poison-until-restart");
  }
  Recorder rec;
  auto b = NewConsumer("g-redeliver");
  ASSERT_NE(b, nullptr);
  ASSERT_TRUE(b->Start([&](const ReceivedMessage& m) {
                 rec.Add(m);
                 return absl::OkStatus();
               }).ok());
  ASSERT_TRUE(rec.WaitFor(2, absl::Seconds(30)));
  absl::SleepFor(absl::Seconds(1));
  b->Stop();
  EXPECT_EQ(rec.Values(), (std::vector<std::string>{"poison-until-restart", "ok-2"}));
}

TEST_F(ConsumerTest, KeepsConsumingAfterBrokerOutage) {
  CreateTopic(1);
  Recorder rec;
  auto c = NewConsumer("g-outage");
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->Start([&](const ReceivedMessage& m) {
                 rec.Add(m);
                 return absl::OkStatus();
               }).ok());
  Produce("k", "before-outage");
  ASSERT_TRUE(rec.WaitFor(1, absl::Seconds(30)));

  ASSERT_TRUE(cluster_->SetBrokerDown().ok());
  absl::SleepFor(absl::Seconds(2));
  ASSERT_TRUE(cluster_->SetBrokerUp().ok());
  Produce("k", "after-outage");
  ASSERT_TRUE(rec.WaitFor(2, absl::Seconds(60))) << rec.Seen().size();
  c->Stop();
  EXPECT_EQ(rec.Values(), (std::vector<std::string>{"before-outage", "after-outage"}));
}

}  // namespace
}  // namespace dvc::kafka

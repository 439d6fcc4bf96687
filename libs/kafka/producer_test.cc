#include "libs/kafka/producer.h"

#include <iostream>
#include <set>

#include "gtest/gtest.h"
#include "libs/kafka/mock_cluster.h"
#include "libs/kafka/testing/test_consumer.h"
#include "libs/status/errors.h"

namespace dvc::kafka {
namespace {

using testing::ConsumedMessage;
using testing::TestConsumer;

class ProducerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = MockCluster::Create(1);
    ASSERT_TRUE(c.ok()) << c.status();
    cluster_ = std::move(*c);
    ASSERT_TRUE(cluster_->CreateTopic("t.events", 3).ok());
  }
  ProducerOptions Options() {
    ProducerOptions o;
    o.bootstrap_servers = cluster_->bootstrap();
    o.client_id = "producer-test";
    o.delivery_timeout = absl::Seconds(10);
    return o;
  }
  std::unique_ptr<MockCluster> cluster_;
};

TEST_F(ProducerTest, ProduceSyncThenConsumeWithKeyValueHeaders) {
  auto p = Producer::Create(Options());
  ASSERT_TRUE(p.ok()) << p.status();
  const std::string binary("\0\x01\xff payload", 11);
  auto r = (*p)->ProduceSync({"t.events", "acc-1", binary, {{"type", "Created"}, {"v", "1"}}},
                             absl::Seconds(10));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_GE(r->partition, 0);
  EXPECT_EQ(r->offset, 0);  // first message of its partition

  auto c = TestConsumer::Create(cluster_->bootstrap(), "t.events");
  ASSERT_TRUE(c.ok()) << c.status();
  std::vector<ConsumedMessage> got = (*c)->Consume(1, absl::Seconds(10));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].key, "acc-1");
  EXPECT_EQ(got[0].value, binary);
  EXPECT_EQ(got[0].partition, r->partition);
  EXPECT_EQ(got[0].Header("type"), "Created");
  EXPECT_EQ(got[0].Header("v"), "1");
  EXPECT_FALSE(got[0].Header("missing").has_value());
}

TEST_F(ProducerTest, AsyncProduceReportsEveryMessageAndKeepsPerKeyOrder) {
  auto p = Producer::Create(Options());
  ASSERT_TRUE(p.ok()) << p.status();
  std::atomic<int> ok{0};
  constexpr int kN = 200;
  for (int i = 0; i < kN; ++i) {
    ASSERT_TRUE((*p)->Produce({"t.events", "k" + std::to_string(i % 5), std::to_string(i), {}},
                              [&ok](const DeliveryReport& r) {
                                if (r.status.ok()) ++ok;
                              })
                    .ok());
  }
  ASSERT_TRUE((*p)->Flush(absl::Seconds(10)).ok());
  EXPECT_EQ(ok.load(), kN);
  EXPECT_EQ((*p)->delivered_total(), kN);

  auto c = TestConsumer::Create(cluster_->bootstrap(), "t.events");
  ASSERT_TRUE(c.ok());
  auto got = (*c)->Consume(kN, absl::Seconds(10));
  ASSERT_EQ(got.size(), static_cast<size_t>(kN));
  std::map<std::string, int> last;  // per key, values must increase (same partition, in order)
  for (const auto& m : got) {
    int v = std::stoi(m.value);
    auto it = last.find(m.key);
    if (it != last.end()) {
      EXPECT_GT(v, it->second) << m.key;
    }
    last[m.key] = v;
  }
}

TEST_F(ProducerTest, ProduceBatchReportsFailureWhenBrokersAreDown) {
  ProducerOptions o = Options();
  o.delivery_timeout = absl::Milliseconds(1500);
  auto p = Producer::Create(o);
  ASSERT_TRUE(p.ok());
  ASSERT_TRUE((*p)->ProduceSync({"t.events", "k", "warm-up", {}}, absl::Seconds(10)).ok());
  ASSERT_TRUE(cluster_->SetBrokerDown().ok());
  std::vector<DeliveryReport> reports =
      (*p)->ProduceBatch({{"t.events", "k", "a", {}}, {"t.events", "k", "b", {}}});
  ASSERT_EQ(reports.size(), 2u);
  for (const auto& r : reports) {
    EXPECT_EQ(r.status.code(), absl::StatusCode::kUnavailable);
    EXPECT_EQ(dvc::status::ReasonOf(r.status), kReasonKafkaUnavailable);
  }
  EXPECT_EQ((*p)->failed_total(), 2);
  ASSERT_TRUE(cluster_->SetBrokerUp().ok());
  // The same producer recovers (reconnecting may take a few attempts).
  absl::Time start = absl::Now();
  absl::StatusOr<DeliveryReport> r;
  for (int i = 0; i < 10; ++i) {
    r = (*p)->ProduceSync({"t.events", "k", "after", {}}, absl::Seconds(10));
    if (r.ok()) break;
  }
  EXPECT_TRUE(r.ok()) << r.status();
  std::cerr << "recovered after " << absl::Now() - start << "\n";
}

TEST_F(ProducerTest, InvalidConfigurationAndArguments) {
  EXPECT_EQ(Producer::Create({}).status().code(), absl::StatusCode::kInvalidArgument);
  ProducerOptions o = Options();
  o.extra["no.such.property"] = "1";
  EXPECT_EQ(Producer::Create(o).status().code(), absl::StatusCode::kInvalidArgument);
  auto p = Producer::Create(Options());
  ASSERT_TRUE(p.ok());
  EXPECT_EQ((*p)->Produce({"", "k", "v", {}}).code(), absl::StatusCode::kInvalidArgument);
}

TEST(MockClusterTest, RejectsBadArguments) {
  EXPECT_FALSE(MockCluster::Create(0).ok());
  auto c = MockCluster::Create(2);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ((*c)->CreateTopic("x", 1, 3).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE((*c)->CreateTopic("x", 2).ok());
  EXPECT_TRUE((*c)->all_up());
  EXPECT_TRUE((*c)->SetBrokerDown(2).ok());
  EXPECT_FALSE((*c)->all_up());
  EXPECT_TRUE((*c)->SetBrokerUp().ok());
  EXPECT_TRUE((*c)->all_up());
}

}  // namespace
}  // namespace dvc::kafka

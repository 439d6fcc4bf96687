// Reads a topic from the beginning (all partitions, no consumer group offsets) for tests.
//
//   auto c = dvc::kafka::testing::TestConsumer::Create(brokers, "dvc.accounts.v1");
//   std::vector<ConsumedMessage> got = (*c)->Consume(50, absl::Seconds(10));
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/kafka/producer.h"

namespace dvc::kafka::testing {

struct ConsumedMessage {
  std::string topic;
  int32_t partition = -1;
  int64_t offset = -1;
  std::string key;
  std::string value;
  Headers headers;
  // First header named `name`, if any.
  std::optional<std::string> Header(const std::string& name) const;
};

class TestConsumer final {
 public:
  // Waits up to `metadata_timeout` for the topic to exist, then assigns all its partitions at
  // the beginning.
  static absl::StatusOr<std::unique_ptr<TestConsumer>> Create(
      const std::string& bootstrap_servers, const std::string& topic,
      absl::Duration metadata_timeout = absl::Seconds(10));
  ~TestConsumer();
  TestConsumer(const TestConsumer&) = delete;
  TestConsumer& operator=(const TestConsumer&) = delete;

  // Returns the next messages until `n` have arrived or `timeout` elapsed (may return fewer).
  // Successive calls continue where the previous one stopped.
  std::vector<ConsumedMessage> Consume(size_t n, absl::Duration timeout);

 private:
  TestConsumer() = default;
  struct rd_kafka_s* rk_ = nullptr;
};

}  // namespace dvc::kafka::testing

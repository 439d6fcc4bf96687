// An in-process Kafka cluster (librdkafka's mock cluster): real Kafka protocol on 127.0.0.1
// listeners, with fault injection. Used by tests and by tools/kafka_mock (the dev broker).
#pragma once

#include <memory>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

typedef struct rd_kafka_s rd_kafka_t;
typedef struct rd_kafka_mock_cluster_s rd_kafka_mock_cluster_t;

namespace dvc::kafka {

class MockCluster final {
 public:
  // Brokers get ids 1..broker_count. Topics not created explicitly are auto-created on first
  // use with the mock's defaults.
  static absl::StatusOr<std::unique_ptr<MockCluster>> Create(int broker_count);
  ~MockCluster();
  MockCluster(const MockCluster&) = delete;
  MockCluster& operator=(const MockCluster&) = delete;

  const std::string& bootstrap() const { return bootstrap_; }  // "127.0.0.1:port,..."
  int broker_count() const { return broker_count_; }

  // replication_factor <= broker_count (0 = min(3, broker_count)).
  absl::Status CreateTopic(absl::string_view topic, int partitions, int replication_factor = 0);
  // Disconnects the broker(s) and refuses new connections / accepts them again.
  // broker_id -1 = all brokers.
  absl::Status SetBrokerDown(int broker_id = -1);
  absl::Status SetBrokerUp(int broker_id = -1);
  bool all_up() const { return down_.empty(); }

  rd_kafka_mock_cluster_t* raw() { return mcluster_; }  // for other fault-injection calls

 private:
  MockCluster() = default;
  rd_kafka_t* rk_ = nullptr;
  rd_kafka_mock_cluster_t* mcluster_ = nullptr;
  std::string bootstrap_;
  int broker_count_ = 0;
  std::set<int> down_;  // broker ids set down
};

}  // namespace dvc::kafka

#include "libs/kafka/mock_cluster.h"

#include <librdkafka/rdkafka.h>
// rdkafka_mock.h must follow rdkafka.h.
#include <librdkafka/rdkafka_mock.h>

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace dvc::kafka {
namespace {

absl::Status FromErr(rd_kafka_resp_err_t err, absl::string_view what) {
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return absl::OkStatus();
  return absl::InternalError(absl::StrCat(what, ": ", rd_kafka_err2str(err)));
}

}  // namespace

absl::StatusOr<std::unique_ptr<MockCluster>> MockCluster::Create(int broker_count) {
  if (broker_count < 1) return absl::InvalidArgumentError("broker_count must be >= 1");
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // The handle only hosts the cluster; silence its "no bootstrap.servers" notices.
  rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
  rd_kafka_conf_set(conf, "client.id", "dvc-mock-cluster", errstr, sizeof(errstr));
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    return absl::InternalError(absl::StrCat("rd_kafka_new: ", errstr));
  }
  rd_kafka_mock_cluster_t* mc = rd_kafka_mock_cluster_new(rk, broker_count);
  if (mc == nullptr) {
    rd_kafka_destroy(rk);
    return absl::InternalError("rd_kafka_mock_cluster_new failed");
  }
  std::unique_ptr<MockCluster> c(new MockCluster());
  c->rk_ = rk;
  c->mcluster_ = mc;
  c->bootstrap_ = rd_kafka_mock_cluster_bootstraps(mc);
  c->broker_count_ = broker_count;
  return c;
}

MockCluster::~MockCluster() {
  if (mcluster_ != nullptr) rd_kafka_mock_cluster_destroy(mcluster_);
  if (rk_ != nullptr) rd_kafka_destroy(rk_);
}

absl::Status MockCluster::CreateTopic(absl::string_view topic, int partitions,
                                      int replication_factor) {
  if (topic.empty() || partitions < 1) return absl::InvalidArgumentError("bad topic spec");
  if (replication_factor <= 0) replication_factor = std::min(3, broker_count_);
  if (replication_factor > broker_count_) {
    return absl::InvalidArgumentError("replication factor exceeds broker count");
  }
  return FromErr(rd_kafka_mock_topic_create(mcluster_, std::string(topic).c_str(), partitions,
                                            replication_factor),
                 "create topic");
}

absl::Status MockCluster::SetBrokerDown(int broker_id) {
  if (broker_id == -1) {
    for (int id = 1; id <= broker_count_; ++id) {
      absl::Status s = SetBrokerDown(id);
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }
  absl::Status s = FromErr(rd_kafka_mock_broker_set_down(mcluster_, broker_id), "broker down");
  if (s.ok()) down_.insert(broker_id);
  return s;
}

absl::Status MockCluster::SetBrokerUp(int broker_id) {
  if (broker_id == -1) {
    for (int id = 1; id <= broker_count_; ++id) {
      absl::Status s = SetBrokerUp(id);
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }
  absl::Status s = FromErr(rd_kafka_mock_broker_set_up(mcluster_, broker_id), "broker up");
  if (s.ok()) down_.erase(broker_id);
  return s;
}

}  // namespace dvc::kafka

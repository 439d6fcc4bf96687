// Idempotent Kafka producer on librdkafka (C API).
//
//   auto p = dvc::kafka::Producer::Create({.bootstrap_servers = brokers, .client_id = "accounts"});
//   absl::Status s = (*p)->ProduceSync({"dvc.accounts.v1", account_id, bytes, {{"type", "x"}}},
//                                       absl::Seconds(10));
// enable.idempotence=true (so acks=all, in-order, no duplicates from internal retries).
// Produce() is asynchronous: the optional callback receives the delivery report on the producer's
// background thread. Delivery failures after message.timeout.ms (`delivery_timeout`) are reported,
// never dropped silently. Errors: UNAVAILABLE reason KAFKA_UNAVAILABLE (delivery failed, queue
// full, broker unreachable), KAFKA_FATAL (the producer must be recreated), INVALID_ARGUMENT.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

typedef struct rd_kafka_s rd_kafka_t;

namespace dvc::kafka {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Message {
  std::string topic;
  std::string key;
  std::string value;
  Headers headers;
};

struct DeliveryReport {
  absl::Status status;  // OK when the broker acknowledged the message (acks=all)
  int32_t partition = -1;
  int64_t offset = -1;
};
using DeliveryCallback = std::function<void(const DeliveryReport&)>;

struct ProducerOptions {
  std::string bootstrap_servers;  // "host:port,host:port"
  std::string client_id = "dvc";
  absl::Duration delivery_timeout = absl::Seconds(30);  // message.timeout.ms
  std::map<std::string, std::string> extra;             // more librdkafka properties
};

inline constexpr char kReasonKafkaUnavailable[] = "KAFKA_UNAVAILABLE";
inline constexpr char kReasonKafkaFatal[] = "KAFKA_FATAL";

class Producer final {
 public:
  static absl::StatusOr<std::unique_ptr<Producer>> Create(const ProducerOptions& options);
  // Flushes for up to 5 s, then purges what is left (callbacks get KAFKA_UNAVAILABLE).
  ~Producer();
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  // Enqueues `m`; `on_delivery` (may be empty) runs once with the outcome.
  absl::Status Produce(const Message& m, DeliveryCallback on_delivery = nullptr);
  // Produces and waits for the delivery report.
  absl::StatusOr<DeliveryReport> ProduceSync(const Message& m, absl::Duration timeout);
  // Produces all messages and waits until each has its delivery report (bounded by
  // delivery_timeout plus a margin). reports[i] belongs to messages[i].
  std::vector<DeliveryReport> ProduceBatch(const std::vector<Message>& messages);
  // Waits until every queued message has been delivered or failed.
  absl::Status Flush(absl::Duration timeout);

  // A fatal error (e.g. idempotence state lost) makes the instance unusable: recreate it.
  bool HasFatalError() const;
  int64_t delivered_total() const { return delivered_.load(); }
  int64_t failed_total() const { return failed_.load(); }

 private:
  explicit Producer(ProducerOptions options) : options_(std::move(options)) {}
  friend struct ProducerInternal;

  const ProducerOptions options_;
  rd_kafka_t* rk_ = nullptr;
  std::atomic<bool> stop_{false};
  std::thread poller_;
  std::atomic<int64_t> delivered_{0}, failed_{0};
};

}  // namespace dvc::kafka

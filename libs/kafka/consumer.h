// At-least-once Kafka consumer (consumer group) on librdkafka (C API).
//
//   auto c = dvc::kafka::Consumer::Create({.bootstrap_servers = brokers, .group_id = "auth",
//                                          .topics = {"dvc.accounts.v1"}, .client_id = "auth"});
//   (*c)->Start([&](const dvc::kafka::ReceivedMessage& m) { return Handle(m); });
//   ...
//   (*c)->Stop();  // waits for the running handler, commits, leaves the group
//
// Delivery guarantees:
// - A message's offset is stored and committed only after the handler returned OK for it
//   (enable.auto.commit=false, enable.auto.offset.store=false). A crash before the commit
//   re-delivers the message: handlers must be idempotent (events carry an `event_id` header).
// - A handler error is logged, the consumer backs off (doubling, `retry_backoff_initial` up to
//   `retry_backoff_max`) and the SAME message is handled again: the partition does not advance
//   past it (it is never skipped). Messages that can never succeed (e.g. unparsable payloads)
//   must therefore be answered OK by the handler (after logging them).
// - A new group starts at the earliest offset (auto.offset.reset=earliest).
// - Broker outages: librdkafka reconnects on its own; errors are logged (libs/logging).
// The handler runs on a single thread (the consumer's), one message at a time, in partition
// order.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "libs/kafka/producer.h"

typedef struct rd_kafka_s rd_kafka_t;

namespace dvc::kafka {

struct ReceivedMessage {
  std::string topic;
  int32_t partition = -1;
  int64_t offset = -1;
  std::string key;
  std::string value;
  Headers headers;
  // First header named `name`, if any.
  std::optional<std::string> Header(const std::string& name) const;
};

// OK = done (the offset may be committed); any error = retry the same message after a backoff.
using MessageHandler = std::function<absl::Status(const ReceivedMessage&)>;

struct ConsumerOptions {
  std::string bootstrap_servers;  // "host:port,host:port"
  std::string group_id;
  std::vector<std::string> topics;
  std::string client_id = "dvc";
  absl::Duration retry_backoff_initial = absl::Milliseconds(200);
  absl::Duration retry_backoff_max = absl::Seconds(30);
  std::map<std::string, std::string> extra;  // more librdkafka properties (override defaults)
};

class Consumer final {
 public:
  // Validates the options and creates the client (no connection is needed yet).
  static absl::StatusOr<std::unique_ptr<Consumer>> Create(const ConsumerOptions& options);
  // Stops (as Stop()) and releases the client.
  ~Consumer();
  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;

  // Subscribes and handles messages on the calling thread until `stop` becomes true, then
  // commits what was handled and leaves the group. A consumer runs once: a second Run/Start
  // answers FAILED_PRECONDITION.
  absl::Status Run(const MessageHandler& handler, const std::atomic<bool>& stop);

  // Run() on a background thread.
  absl::Status Start(MessageHandler handler);
  // Idempotent. Waits for the handler in progress (a message whose handler has not returned OK
  // is not committed and will be delivered again), commits and leaves the group.
  void Stop();

  int64_t handled_total() const { return handled_.load(); }  // handler returned OK
  int64_t failed_total() const { return failed_.load(); }    // handler errors (retried)

 private:
  explicit Consumer(ConsumerOptions options) : options_(std::move(options)) {}
  // Sleeps `d` unless `stop` becomes true first.
  static void SleepUnlessStopped(absl::Duration d, const std::atomic<bool>& stop);
  absl::Status Subscribe();
  // Handles messages until `stop`, then Close().
  void Loop(const MessageHandler& handler, const std::atomic<bool>& stop);
  // Commits the stored offsets and leaves the group (once).
  void Close();

  const ConsumerOptions options_;
  rd_kafka_t* rk_ = nullptr;
  std::atomic<bool> started_{false};
  std::atomic<bool> stop_{false};
  std::thread thread_;
  absl::Mutex close_mu_;
  bool closed_ = false;
  std::atomic<int64_t> handled_{0}, failed_{0};
};

}  // namespace dvc::kafka

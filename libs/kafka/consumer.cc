#include "libs/kafka/consumer.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <exception>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "libs/kafka/client_callbacks.h"
#include "libs/logging/log.h"

namespace dvc::kafka {
namespace {

constexpr int kPollMs = 100;
constexpr int kSeekTimeoutMs = 5000;

void CommitCallback(rd_kafka_t*, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t*,
                    void*) {
  // _NO_OFFSET: nothing new to commit. Other errors: the stored offsets stay and are committed
  // by the next commit (the messages may be re-delivered after a crash meanwhile).
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR__NO_OFFSET) return;
  dvc::log::Warn("kafka.consumer.commit_failed", {{"error", rd_kafka_err2name(err)}});
}

ReceivedMessage Convert(const rd_kafka_message_t* m) {
  ReceivedMessage r;
  r.topic = rd_kafka_topic_name(m->rkt);
  r.partition = m->partition;
  r.offset = m->offset;
  if (m->key != nullptr) r.key.assign(static_cast<const char*>(m->key), m->key_len);
  if (m->payload != nullptr) r.value.assign(static_cast<const char*>(m->payload), m->len);
  rd_kafka_headers_t* hdrs = nullptr;
  // rd_kafka_message_headers needs a non-const message (it parses lazily).
  if (rd_kafka_message_headers(const_cast<rd_kafka_message_t*>(m), &hdrs) ==
      RD_KAFKA_RESP_ERR_NO_ERROR) {
    const char* name;
    const void* val;
    size_t size;
    for (size_t i = 0;
         rd_kafka_header_get_all(hdrs, i, &name, &val, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i) {
      r.headers.emplace_back(
          name, val == nullptr ? std::string() : std::string(static_cast<const char*>(val), size));
    }
  }
  return r;
}

// Points the consumer of (topic, partition) back at `offset` (synchronously, so that messages
// already fetched past it are discarded before the next poll).
void SeekTo(rd_kafka_t* rk, const std::string& topic, int32_t partition, int64_t offset) {
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(list, topic.c_str(), partition)->offset = offset;
  rd_kafka_error_t* error = rd_kafka_seek_partitions(rk, list, kSeekTimeoutMs);
  if (error != nullptr) {
    dvc::log::Warn("kafka.consumer.seek_failed",
                   {{"topic", topic},
                    {"partition", absl::StrCat(partition)},
                    {"error", rd_kafka_error_string(error)}});
    rd_kafka_error_destroy(error);
  } else if (list->elems[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    dvc::log::Warn("kafka.consumer.seek_failed",
                   {{"topic", topic},
                    {"partition", absl::StrCat(partition)},
                    {"error", rd_kafka_err2name(list->elems[0].err)}});
  }
  rd_kafka_topic_partition_list_destroy(list);
}

}  // namespace

std::optional<std::string> ReceivedMessage::Header(const std::string& name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return std::nullopt;
}

absl::StatusOr<std::unique_ptr<Consumer>> Consumer::Create(const ConsumerOptions& options) {
  if (options.bootstrap_servers.empty()) {
    return absl::InvalidArgumentError("kafka: bootstrap servers are required");
  }
  if (options.group_id.empty()) return absl::InvalidArgumentError("kafka: group id is required");
  if (options.topics.empty()) return absl::InvalidArgumentError("kafka: no topics to consume");
  for (const std::string& t : options.topics) {
    if (t.empty()) return absl::InvalidArgumentError("kafka: empty topic name");
  }
  if (options.retry_backoff_initial <= absl::ZeroDuration() ||
      options.retry_backoff_max < options.retry_backoff_initial) {
    return absl::InvalidArgumentError("kafka: need 0 < retry_backoff_initial <= retry_backoff_max");
  }
  std::unique_ptr<Consumer> c(new Consumer(options));
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  std::map<std::string, std::string> props = {
      {"bootstrap.servers", options.bootstrap_servers},
      {"group.id", options.group_id},
      {"client.id", options.client_id},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"auto.offset.reset", "earliest"},
      {"enable.partition.eof", "false"},
      {"socket.keepalive.enable", "true"},
      // Reconnect quickly after a broker outage (default backs off up to 10 s).
      {"reconnect.backoff.max.ms", "1000"},
      // Notice a subscribed topic that is created later within seconds, not minutes.
      {"topic.metadata.refresh.interval.ms", "10000"},
  };
  for (const auto& [k, v] : options.extra) props[k] = v;
  for (const auto& [k, v] : props) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), errstr, sizeof(errstr)) !=
        RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return absl::InvalidArgumentError(absl::StrCat("kafka config ", k, ": ", errstr));
    }
  }
  rd_kafka_conf_set_log_cb(conf, &internal::LogCallback);
  rd_kafka_conf_set_error_cb(conf, &internal::ErrorCallback);
  rd_kafka_conf_set_offset_commit_cb(conf, &CommitCallback);
  c->rk_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
  if (c->rk_ == nullptr) {
    rd_kafka_conf_destroy(conf);
    return absl::InvalidArgumentError(absl::StrCat("kafka: ", errstr));
  }
  rd_kafka_poll_set_consumer(c->rk_);
  return c;
}

Consumer::~Consumer() {
  Stop();
  if (rk_ == nullptr) return;
  Close();
  rd_kafka_destroy(rk_);
}

void Consumer::SleepUnlessStopped(absl::Duration d, const std::atomic<bool>& stop) {
  absl::Time until = absl::Now() + d;
  while (!stop.load()) {
    absl::Duration left = until - absl::Now();
    if (left <= absl::ZeroDuration()) return;
    absl::SleepFor(std::min(left, absl::Milliseconds(50)));
  }
}

void Consumer::Close() {
  absl::MutexLock l(&close_mu_);
  if (closed_) return;
  closed_ = true;
  // Commit what was handled (synchronously: a successor in the group must start after it).
  rd_kafka_resp_err_t err = rd_kafka_commit(rk_, nullptr, 0);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
    log::Warn("kafka.consumer.final_commit_failed", {{"error", rd_kafka_err2name(err)}});
  }
  err = rd_kafka_consumer_close(rk_);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    log::Warn("kafka.consumer.close_failed", {{"error", rd_kafka_err2name(err)}});
  }
}

absl::Status Consumer::Subscribe() {
  {
    absl::MutexLock l(&close_mu_);
    if (closed_) return absl::FailedPreconditionError("kafka: consumer closed");
  }
  rd_kafka_topic_partition_list_t* list =
      rd_kafka_topic_partition_list_new(static_cast<int>(options_.topics.size()));
  for (const std::string& t : options_.topics) {
    rd_kafka_topic_partition_list_add(list, t.c_str(), RD_KAFKA_PARTITION_UA);
  }
  rd_kafka_resp_err_t err = rd_kafka_subscribe(rk_, list);
  rd_kafka_topic_partition_list_destroy(list);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::InternalError(absl::StrCat("kafka subscribe: ", rd_kafka_err2str(err)));
  }
  log::Info("kafka.consumer.started", {{"group", options_.group_id},
                                        {"topics", absl::StrJoin(options_.topics, ",")}});
  return absl::OkStatus();
}

absl::Status Consumer::Start(MessageHandler handler) {
  if (!handler) return absl::InvalidArgumentError("kafka: handler is required");
  if (started_.exchange(true)) return absl::FailedPreconditionError("kafka: consumer already ran");
  // Subscribe on this thread so that errors reach the caller.
  if (absl::Status s = Subscribe(); !s.ok()) return s;
  thread_ = std::thread([this, h = std::move(handler)] { Loop(h, stop_); });
  return absl::OkStatus();
}

void Consumer::Stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

absl::Status Consumer::Run(const MessageHandler& handler, const std::atomic<bool>& stop) {
  if (!handler) return absl::InvalidArgumentError("kafka: handler is required");
  if (started_.exchange(true)) return absl::FailedPreconditionError("kafka: consumer already ran");
  if (absl::Status s = Subscribe(); !s.ok()) return s;
  Loop(handler, stop);
  return absl::OkStatus();
}

void Consumer::Loop(const MessageHandler& handler, const std::atomic<bool>& stop) {
  // Per (topic, partition): the offset of a message whose handler failed and that must come
  // back (after the seek) before anything later in that partition is handled.
  std::map<std::pair<std::string, int32_t>, int64_t> pending;
  int consecutive_failures = 0;
  while (!stop.load()) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_, kPollMs);
    if (m == nullptr) continue;
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      log::Warn("kafka.consumer.poll_error",
                {{"error", rd_kafka_err2name(m->err)}, {"detail", rd_kafka_message_errstr(m)}});
      rd_kafka_message_destroy(m);
      continue;
    }
    ReceivedMessage msg = Convert(m);
    rd_kafka_message_destroy(m);
    const auto tp = std::make_pair(msg.topic, msg.partition);
    if (auto it = pending.find(tp); it != pending.end()) {
      if (msg.offset > it->second) {
        // Fetched before the seek took effect: never handle past a failed message. Seek again
        // in case the first seek was lost.
        SeekTo(rk_, msg.topic, msg.partition, it->second);
        continue;
      }
      pending.erase(it);  // the failed message again (or earlier, after a rebalance)
    }

    absl::Status s;
    try {
      s = handler(msg);
    } catch (const std::exception& e) {
      s = absl::InternalError(absl::StrCat("handler threw: ", e.what()));
    } catch (...) {
      s = absl::InternalError("handler threw");
    }
    if (s.ok()) {
      consecutive_failures = 0;
      handled_.fetch_add(1);
      rd_kafka_topic_partition_list_t* offsets = rd_kafka_topic_partition_list_new(1);
      rd_kafka_topic_partition_list_add(offsets, msg.topic.c_str(), msg.partition)->offset =
          msg.offset + 1;
      rd_kafka_resp_err_t store_err = rd_kafka_offsets_store(rk_, offsets);
      rd_kafka_topic_partition_list_destroy(offsets);
      if (store_err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        // The partition was revoked meanwhile: its new owner handles the message again.
        log::Warn("kafka.consumer.store_failed",
                  {{"topic", msg.topic},
                   {"partition", absl::StrCat(msg.partition)},
                   {"error", rd_kafka_err2name(store_err)}});
        continue;
      }
      rd_kafka_commit(rk_, nullptr, /*async=*/1);
      continue;
    }

    failed_.fetch_add(1);
    ++consecutive_failures;
    absl::Duration backoff = options_.retry_backoff_initial;
    for (int i = 1; i < consecutive_failures && backoff < options_.retry_backoff_max; ++i) {
      backoff *= 2;
    }
    backoff = std::min(backoff, options_.retry_backoff_max);
    log::Warn("kafka.consumer.handler_failed",
              {{"topic", msg.topic},
               {"partition", absl::StrCat(msg.partition)},
               {"offset", absl::StrCat(msg.offset)},
               {"error", s.ToString()},
               {"retry_in", absl::FormatDuration(backoff)}});
    pending[tp] = msg.offset;
    SeekTo(rk_, msg.topic, msg.partition, msg.offset);
    SleepUnlessStopped(backoff, stop);
  }
  Close();
  log::Info("kafka.consumer.stopped", {{"group", options_.group_id}});
}

}  // namespace dvc::kafka

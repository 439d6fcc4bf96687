#include "libs/kafka/producer.h"

#include <librdkafka/rdkafka.h>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "libs/kafka/client_callbacks.h"
#include "libs/logging/log.h"
#include "libs/status/errors.h"

namespace dvc::kafka {
namespace {

absl::Status KafkaUnavailable(absl::string_view detail) {
  return dvc::status::MakeError(
      absl::StatusCode::kUnavailable,
      {kReasonKafkaUnavailable, "", "Hệ thống đang bận, vui lòng thử lại sau.",
       absl::StrCat("Kafka unavailable: ", detail), {}});
}

absl::Status KafkaFatal(absl::string_view detail) {
  return dvc::status::MakeError(
      absl::StatusCode::kUnavailable,
      {kReasonKafkaFatal, "", "Hệ thống đang bận, vui lòng thử lại sau.",
       absl::StrCat("Kafka producer fatal error: ", detail), {}});
}

}  // namespace

struct ProducerInternal {
  static void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    auto* self = static_cast<Producer*>(opaque);
    DeliveryReport r;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      r.partition = m->partition;
      r.offset = m->offset;
      self->delivered_.fetch_add(1);
    } else {
      r.status = KafkaUnavailable(rd_kafka_err2str(m->err));
      self->failed_.fetch_add(1);
    }
    auto* cb = static_cast<DeliveryCallback*>(m->_private);
    if (cb != nullptr) {
      (*cb)(r);
      delete cb;
    }
  }
};

absl::StatusOr<std::unique_ptr<Producer>> Producer::Create(const ProducerOptions& options) {
  if (options.bootstrap_servers.empty()) {
    return absl::InvalidArgumentError("kafka: bootstrap servers are required");
  }
  std::unique_ptr<Producer> p(new Producer(options));
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  std::map<std::string, std::string> props = {
      {"bootstrap.servers", options.bootstrap_servers},
      {"client.id", options.client_id},
      {"enable.idempotence", "true"},
      {"acks", "all"},
      {"message.timeout.ms",
       absl::StrCat(std::max<int64_t>(1, absl::ToInt64Milliseconds(options.delivery_timeout)))},
      {"linger.ms", "5"},
      {"socket.keepalive.enable", "true"},
      // Reconnect quickly after a broker outage (default backs off up to 10 s).
      {"reconnect.backoff.max.ms", "1000"},
  };
  for (const auto& [k, v] : options.extra) props[k] = v;
  for (const auto& [k, v] : props) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), errstr, sizeof(errstr)) !=
        RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return absl::InvalidArgumentError(absl::StrCat("kafka config ", k, ": ", errstr));
    }
  }
  rd_kafka_conf_set_opaque(conf, p.get());
  rd_kafka_conf_set_dr_msg_cb(conf, &ProducerInternal::OnDelivery);
  rd_kafka_conf_set_log_cb(conf, &internal::LogCallback);
  rd_kafka_conf_set_error_cb(conf, &internal::ErrorCallback);
  p->rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (p->rk_ == nullptr) {
    rd_kafka_conf_destroy(conf);
    return absl::InvalidArgumentError(absl::StrCat("kafka: ", errstr));
  }
  Producer* raw = p.get();
  p->poller_ = std::thread([raw] {
    while (!raw->stop_.load()) rd_kafka_poll(raw->rk_, 100);
  });
  return p;
}

Producer::~Producer() {
  stop_ = true;
  if (poller_.joinable()) poller_.join();
  if (rk_ == nullptr) return;
  rd_kafka_flush(rk_, 5000);
  rd_kafka_purge(rk_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  rd_kafka_poll(rk_, 0);  // serves the purge reports (frees callbacks)
  rd_kafka_flush(rk_, 100);
  rd_kafka_destroy(rk_);
}

bool Producer::HasFatalError() const {
  char buf[256];
  return rd_kafka_fatal_error(rk_, buf, sizeof(buf)) != RD_KAFKA_RESP_ERR_NO_ERROR;
}

absl::Status Producer::Produce(const Message& m, DeliveryCallback on_delivery) {
  if (m.topic.empty()) return absl::InvalidArgumentError("kafka: topic is required");
  char buf[256];
  if (rd_kafka_resp_err_t fe = rd_kafka_fatal_error(rk_, buf, sizeof(buf))) {
    return KafkaFatal(absl::StrCat(rd_kafka_err2name(fe), ": ", buf));
  }
  rd_kafka_headers_t* hdrs = rd_kafka_headers_new(m.headers.size());
  for (const auto& [k, v] : m.headers) {
    rd_kafka_header_add(hdrs, k.data(), static_cast<ssize_t>(k.size()), v.data(),
                        static_cast<ssize_t>(v.size()));
  }
  auto* cb = on_delivery ? new DeliveryCallback(std::move(on_delivery)) : nullptr;
  rd_kafka_resp_err_t err = rd_kafka_producev(
      rk_, RD_KAFKA_V_TOPIC(m.topic.c_str()),
      RD_KAFKA_V_KEY(const_cast<char*>(m.key.data()), m.key.size()),
      RD_KAFKA_V_VALUE(const_cast<char*>(m.value.data()), m.value.size()),
      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE(cb),
      RD_KAFKA_V_END);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    rd_kafka_headers_destroy(hdrs);  // ownership passes only on success
    delete cb;
    if (err == RD_KAFKA_RESP_ERR__FATAL) return KafkaFatal(rd_kafka_err2str(err));
    return KafkaUnavailable(rd_kafka_err2str(err));
  }
  return absl::OkStatus();
}

namespace {
struct Waiter {
  absl::Mutex mu;
  size_t remaining = 0;
  std::vector<DeliveryReport> reports;
  std::vector<bool> filled;
};
}  // namespace

std::vector<DeliveryReport> Producer::ProduceBatch(const std::vector<Message>& messages) {
  auto w = std::make_shared<Waiter>();
  w->reports.resize(messages.size());
  w->filled.resize(messages.size());
  w->remaining = messages.size();
  for (size_t i = 0; i < messages.size(); ++i) {
    absl::Status s = Produce(messages[i], [w, i](const DeliveryReport& r) {
      absl::MutexLock l(&w->mu);
      w->reports[i] = r;
      w->filled[i] = true;
      --w->remaining;
    });
    if (!s.ok()) {
      absl::MutexLock l(&w->mu);
      w->reports[i].status = s;
      w->filled[i] = true;
      --w->remaining;
    }
  }
  absl::MutexLock l(&w->mu);
  auto done = [&w]() { return w->remaining == 0; };
  // librdkafka reports every message within message.timeout.ms; the margin covers scheduling.
  if (!w->mu.AwaitWithTimeout(absl::Condition(&done),
                              options_.delivery_timeout + absl::Seconds(10))) {
    for (size_t i = 0; i < w->reports.size(); ++i) {
      if (!w->filled[i]) {
        w->reports[i].status = KafkaUnavailable("delivery report not received in time");
      }
    }
  }
  return w->reports;
}

absl::StatusOr<DeliveryReport> Producer::ProduceSync(const Message& m, absl::Duration timeout) {
  auto w = std::make_shared<Waiter>();
  w->reports.resize(1);
  w->remaining = 1;
  absl::Status s = Produce(m, [w](const DeliveryReport& r) {
    absl::MutexLock l(&w->mu);
    w->reports[0] = r;
    w->remaining = 0;
  });
  if (!s.ok()) return s;
  absl::MutexLock l(&w->mu);
  auto done = [&w]() { return w->remaining == 0; };
  if (!w->mu.AwaitWithTimeout(absl::Condition(&done), timeout)) {
    return dvc::status::DeadlineExceeded(kReasonKafkaUnavailable,
                                         "Hệ thống đang bận, vui lòng thử lại sau.",
                                         "Kafka delivery not confirmed in time");
  }
  if (!w->reports[0].status.ok()) return w->reports[0].status;
  return w->reports[0];
}

absl::Status Producer::Flush(absl::Duration timeout) {
  rd_kafka_resp_err_t err =
      rd_kafka_flush(rk_, static_cast<int>(absl::ToInt64Milliseconds(timeout)));
  if (err == RD_KAFKA_RESP_ERR__TIMED_OUT) {
    return KafkaUnavailable(absl::StrCat(rd_kafka_outq_len(rk_), " messages still queued"));
  }
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return KafkaUnavailable(rd_kafka_err2str(err));
  return absl::OkStatus();
}

}  // namespace dvc::kafka

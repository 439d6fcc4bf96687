#include "libs/kafka/testing/test_consumer.h"

#include <librdkafka/rdkafka.h>

#include <atomic>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace dvc::kafka::testing {

std::optional<std::string> ConsumedMessage::Header(const std::string& name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return std::nullopt;
}

absl::StatusOr<std::unique_ptr<TestConsumer>> TestConsumer::Create(
    const std::string& bootstrap_servers, const std::string& topic,
    absl::Duration metadata_timeout) {
  static std::atomic<int> seq{0};
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  const std::pair<std::string, std::string> props[] = {
      {"bootstrap.servers", bootstrap_servers},
      {"group.id", absl::StrCat("dvc-test-consumer-", getpid(), "-", seq.fetch_add(1))},
      {"enable.auto.commit", "false"},
      {"enable.partition.eof", "false"},
      {"log_level", "3"},
  };
  for (const auto& [k, v] : props) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), errstr, sizeof(errstr)) !=
        RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return absl::InvalidArgumentError(errstr);
    }
  }
  // Tests simulate outages on purpose: keep the consumer quiet.
  rd_kafka_conf_set_log_cb(conf, [](const rd_kafka_t*, int, const char*, const char*) {});
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    return absl::InternalError(errstr);
  }
  std::unique_ptr<TestConsumer> c(new TestConsumer());
  c->rk_ = rk;
  rd_kafka_poll_set_consumer(rk);

  int partitions = 0;
  absl::Time deadline = absl::Now() + metadata_timeout;
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  while (partitions == 0 && absl::Now() < deadline) {
    const rd_kafka_metadata_t* md = nullptr;
    if (rd_kafka_metadata(rk, 0, rkt, &md, 2000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        partitions = md->topics[0].partition_cnt;
      }
      rd_kafka_metadata_destroy(md);
    }
    if (partitions == 0) absl::SleepFor(absl::Milliseconds(100));
  }
  rd_kafka_topic_destroy(rkt);
  if (partitions == 0) {
    return absl::DeadlineExceededError(absl::StrCat("topic ", topic, " not found"));
  }
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p) {
    rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  }
  rd_kafka_resp_err_t err = rd_kafka_assign(rk, list);
  rd_kafka_topic_partition_list_destroy(list);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return absl::InternalError(rd_kafka_err2str(err));
  return c;
}

TestConsumer::~TestConsumer() {
  if (rk_ == nullptr) return;
  rd_kafka_consumer_close(rk_);
  rd_kafka_destroy(rk_);
}

std::vector<ConsumedMessage> TestConsumer::Consume(size_t n, absl::Duration timeout) {
  std::vector<ConsumedMessage> out;
  absl::Time deadline = absl::Now() + timeout;
  while (out.size() < n) {
    int64_t left_ms = absl::ToInt64Milliseconds(deadline - absl::Now());
    if (left_ms <= 0) break;
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_, static_cast<int>(std::min<int64_t>(left_ms, 200)));
    if (m == nullptr) continue;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      ConsumedMessage c;
      c.topic = rd_kafka_topic_name(m->rkt);
      c.partition = m->partition;
      c.offset = m->offset;
      if (m->key != nullptr) c.key.assign(static_cast<const char*>(m->key), m->key_len);
      if (m->payload != nullptr) c.value.assign(static_cast<const char*>(m->payload), m->len);
      rd_kafka_headers_t* hdrs = nullptr;
      if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const char* name;
        const void* val;
        size_t size;
        for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &val, &size) ==
                           RD_KAFKA_RESP_ERR_NO_ERROR;
             ++i) {
          c.headers.emplace_back(name, val == nullptr ? std::string()
                                                      : std::string(static_cast<const char*>(val), size));
        }
      }
      out.push_back(std::move(c));
    }
    rd_kafka_message_destroy(m);
  }
  return out;
}

}  // namespace dvc::kafka::testing

#include "libs/kafka/client_callbacks.h"

#include <string>

#include "libs/logging/log.h"

namespace dvc::kafka::internal {

void LogCallback(const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
  // librdkafka syslog levels: 0-3 error, 4 warning, 5-6 info, 7 debug. Level-3 errors (broker
  // connection failures) also reach ErrorCallback, which logs them once.
  std::string client = rk != nullptr ? rd_kafka_name(rk) : "";
  if (level <= 2) {
    log::Error("kafka.log", {{"client", client}, {"facility", fac}, {"detail", buf}});
  } else if (level == 4) {
    log::Warn("kafka.log", {{"client", client}, {"facility", fac}, {"detail", buf}});
  }
}

void ErrorCallback(rd_kafka_t* rk, int err, const char* reason, void*) {
  std::string client = rd_kafka_name(rk);
  auto e = static_cast<rd_kafka_resp_err_t>(err);
  if (e == RD_KAFKA_RESP_ERR__FATAL) {
    char buf[512];
    rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, buf, sizeof(buf));
    log::Error("kafka.fatal",
               {{"client", client}, {"error", rd_kafka_err2name(orig)}, {"detail", buf}});
    return;
  }
  // Transient (a broker or all brokers down): librdkafka reconnects and retries on its own.
  log::Warn("kafka.error", {{"client", client}, {"error", rd_kafka_err2name(e)}, {"detail", reason}});
}

}  // namespace dvc::kafka::internal

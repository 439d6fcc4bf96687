// librdkafka log and error callbacks shared by the producer and the consumer: librdkafka's own
// messages go to the structured log (libs/logging) with the client's name.
#pragma once

#include <librdkafka/rdkafka.h>

namespace dvc::kafka::internal {

// Install with rd_kafka_conf_set_log_cb / rd_kafka_conf_set_error_cb.
void LogCallback(const rd_kafka_t* rk, int level, const char* fac, const char* buf);
void ErrorCallback(rd_kafka_t* rk, int err, const char* reason, void* opaque);

}  // namespace dvc::kafka::internal

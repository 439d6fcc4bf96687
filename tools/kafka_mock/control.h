// The dev broker's HTTP control endpoint (127.0.0.1 only), used by fault-injection tests:
//   GET  /health               200 "ok brokers_up=<true|false>"
//   GET  /bootstrap            200 "<bootstrap servers>"
//   POST /brokers/down[?id=N]  all brokers (or broker N) refuse connections
//   POST /brokers/up[?id=N]    accept again
//   POST /topics?name=T&partitions=P   create a topic
#pragma once

#include <atomic>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "libs/kafka/mock_cluster.h"

namespace dvc::kafka_mock {

struct HttpResponse {
  int code = 200;
  std::string body;
};

// Routes one request; thread-compatible (the server serializes calls).
HttpResponse HandleControl(kafka::MockCluster& cluster, absl::string_view method,
                           absl::string_view target);

class ControlServer final {
 public:
  // Binds 127.0.0.1:port (0 = any free port) and serves in a background thread.
  static absl::StatusOr<std::unique_ptr<ControlServer>> Start(kafka::MockCluster* cluster,
                                                              int port);
  ~ControlServer();  // stops serving
  int port() const { return port_; }

 private:
  ControlServer() = default;
  void Serve();
  void HandleConnection(int fd);

  kafka::MockCluster* cluster_ = nullptr;
  absl::Mutex mu_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace dvc::kafka_mock

// gRPC server bootstrap shared by every service: health service, reflection, keepalive,
// message-size limits, per-RPC metrics (count by code, latency histogram) and structured access
// logs via an interceptor, an HTTP side port with /metrics (Prometheus) and /healthz, and a
// graceful shutdown that first reports NOT_SERVING, then drains in-flight calls.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "libs/http/http_server.h"
#include "libs/metrics/metrics.h"

namespace dvc::server {

struct Options {
  std::string service_name;            // e.g. "otp"
  std::string host = "0.0.0.0";
  int grpc_port = 0;                   // 0 picks a free port (tests)
  int metrics_port = 0;                // 0 picks a free port; -1 disables the HTTP side port
  absl::Duration shutdown_grace = absl::Seconds(10);
  int max_receive_bytes = 4 << 20;
  // Idle threads the synchronous server keeps polling for work (gRPC's MAX_POLLERS, default 2).
  // A thread that finishes an RPC while this many others are polling exits, and the next burst
  // creates new ones: under concurrent load gRPC's default made a thread (and, in otp, a new
  // libcurl connection to the SMS gateway) for most RPCs. Idle threads beyond 1 still exit
  // after 10 s without work.
  int max_idle_threads = 32;
};

class GrpcServer final {
 public:
  GrpcServer(Options options, metrics::Registry* registry);
  ~GrpcServer();
  GrpcServer(const GrpcServer&) = delete;
  GrpcServer& operator=(const GrpcServer&) = delete;

  // Services must outlive the server.
  void Register(grpc::Service* service);
  absl::Status Start();
  int grpc_port() const { return grpc_port_; }
  int metrics_port() const;
  void SetServing(bool serving);
  // Stops accepting, lets in-flight RPCs finish within the grace period, stops the HTTP port.
  void Shutdown();

 private:
  Options options_;
  metrics::Registry* registry_;
  std::vector<grpc::Service*> services_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<http::HttpServer> http_;
  int grpc_port_ = 0;
  bool stopped_ = false;
  std::atomic<bool> serving_{false};
};

// Blocks the calling thread until SIGINT or SIGTERM arrives (signals are blocked in every
// other thread created afterwards). Call InstallSignalMask() first thing in main().
void InstallSignalMask();
int WaitForTerminationSignal();

}  // namespace dvc::server

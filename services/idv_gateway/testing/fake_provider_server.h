// An in-test HTTP provider stand-in on libs/http's HttpServer (127.0.0.1, port 0): scripted
// replies, injected failures and latency (interrupted at destruction), request capture.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "libs/http/http_server.h"

namespace dvc::idv::testing {

// A provider stand-in: scripted responses, optional delay (interruptible at teardown).
class FakeProviderServer final {
 public:
  FakeProviderServer() {
    server_.Handle("", "/", [this](const http::ServerRequest& r) { return Serve(r); });
    started_ = server_.Start("127.0.0.1", 0);
  }
  ~FakeProviderServer() {
    {
      std::lock_guard<std::mutex> l(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    server_.Stop();
  }
  const absl::Status& started() const { return started_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server_.port()); }

  void Reply(int status, std::string body, absl::Duration delay = absl::ZeroDuration()) {
    std::lock_guard<std::mutex> l(mu_);
    status_ = status;
    body_ = std::move(body);
    delay_ = delay;
  }
  // The next `n` requests get `status` (then the scripted reply).
  void FailNext(int n, int status) {
    std::lock_guard<std::mutex> l(mu_);
    fail_next_ = n;
    fail_status_ = status;
  }
  // Replaces the scripted reply by a function of the request (FailNext still applies first).
  void SetHandler(http::Handler h) {
    std::lock_guard<std::mutex> l(mu_);
    handler_ = std::move(h);
  }
  int hits() const { return hits_.load(); }
  http::ServerRequest last() {
    std::lock_guard<std::mutex> l(mu_);
    return last_;
  }

 private:
  http::ServerResponse Serve(const http::ServerRequest& r) {
    ++hits_;
    std::unique_lock<std::mutex> l(mu_);
    last_ = r;
    if (fail_next_ > 0) {
      --fail_next_;
      return http::ServerResponse::Json(fail_status_, R"({"error":"simulated"})");
    }
    if (delay_ > absl::ZeroDuration()) {
      cv_.wait_for(l, absl::ToChronoMilliseconds(delay_), [this] { return stopping_; });
    }
    if (handler_) return handler_(r);
    return http::ServerResponse::Json(status_, body_);
  }

  http::HttpServer server_;
  absl::Status started_;
  http::Handler handler_;
  std::atomic<int> hits_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  int status_ = 200;
  std::string body_ = "{}";
  absl::Duration delay_;
  int fail_next_ = 0;
  int fail_status_ = 503;
  http::ServerRequest last_;
};

}  // namespace dvc::idv::testing

// A deliberately primitive HTTP test server on raw POSIX sockets (127.0.0.1, port 0) for testing
// the HTTP client without trusting HttpServer: each connection's request (head and a
// Content-Length body) is read, then handed with the socket to a behaviour that may answer,
// answer garbage, sleep or just return (the server then closes the socket).
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace dvc::http::testing {

class RawTestServer final {
 public:
  using Behaviour = std::function<void(RawTestServer& server, const std::string& request, int fd)>;

  explicit RawTestServer(Behaviour behaviour);
  ~RawTestServer();
  RawTestServer(const RawTestServer&) = delete;
  RawTestServer& operator=(const RawTestServer&) = delete;

  int port() const { return port_; }
  std::string Url(absl::string_view path) const;
  int connections() const { return connections_.load(); }
  std::string last_request() const;

  // Sleeps for `d` or until the server is being destroyed; returns false when interrupted.
  bool Sleep(absl::Duration d);

  static void Write(int fd, absl::string_view data);
  static std::string Response(int status, absl::string_view body,
                              absl::string_view extra_headers = "");

 private:
  void AcceptLoop();
  void Serve(int fd);

  Behaviour behaviour_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::thread acceptor_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::thread> workers_;
  std::string last_request_;
};

}  // namespace dvc::http::testing

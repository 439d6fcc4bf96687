// A minimal embedded HTTP/1.1 server for /metrics, health endpoints and test servers.
// Not for public traffic: the gateway fronts users.
//
//   dvc::http::HttpServer server;
//   server.Handle("GET", "/metrics", [&](const dvc::http::ServerRequest&) {
//     return dvc::http::ServerResponse::Text(200, registry.Render(),
//                                            "text/plain; version=0.0.4; charset=utf-8");
//   });
//   if (auto s = server.Start("0.0.0.0", 9090); !s.ok()) …
//   …
//   server.Stop();
//
// One thread per connection (at most Options::max_connections at once; more are answered 503),
// one request per connection (the response carries "Connection: close"). Requests are bounded:
// the request line plus headers by max_header_bytes (431 beyond), the body by max_body_bytes
// (413 beyond), and the whole request must arrive within read_timeout (408 otherwise). Garbage
// gets 400, Transfer-Encoding (chunked bodies) 501. A handler that throws gets 500.
//
// Routing: the handler with the longest matching path prefix wins. A prefix matches a path that
// equals it, or that continues it with "/" (so "/health" matches "/health/live" but not
// "/healthz"); a prefix ending in "/" matches everything below it. An empty method matches any
// method; HEAD is served by GET handlers without the body. No matching path → 404; a matching
// path but no handler for the method → 405.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "libs/http/http_client.h"

namespace dvc::http {

struct ServerRequest {
  std::string method;  // as sent, e.g. "GET"
  std::string target;  // raw request target, e.g. "/v1/sms?to=84912345678"
  std::string path;    // target without the query, not percent-decoded
  std::string query;   // raw query string without "?"
  Headers headers;
  std::string body;
  std::string remote_addr;  // "ip:port"

  std::optional<std::string> Header(absl::string_view name) const {
    return FindHeader(headers, name);
  }
  // First value of query parameter `name`, percent-decoded ('+' is a space).
  std::optional<std::string> QueryParam(absl::string_view name) const;
};

struct ServerResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  Headers headers;  // extra headers (Content-Length and Connection are set by the server)
  std::string body;

  static ServerResponse Text(int status, std::string body,
                             std::string content_type = "text/plain; charset=utf-8");
  static ServerResponse Json(int status, std::string body);
};

using Handler = std::function<ServerResponse(const ServerRequest&)>;

// Standard reason phrase for `status` ("Unknown" when not known).
const char* ReasonPhrase(int status);

class HttpServer final {
 public:
  struct Options {
    size_t max_header_bytes = 16 * 1024;  // request line + headers
    size_t max_body_bytes = 1024 * 1024;
    absl::Duration read_timeout = absl::Seconds(10);   // whole request
    absl::Duration write_timeout = absl::Seconds(10);  // per send()
    int max_connections = 64;
  };

  HttpServer();
  explicit HttpServer(Options options);
  ~HttpServer();  // Stop()s
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Registers a handler; call before Start(). method "" = any method.
  void Handle(std::string method, std::string path_prefix, Handler handler);

  // Binds and listens on host:port (IPv4 address or "localhost"; port 0 picks a free port) and
  // starts accepting. Fails with Unavailable("HTTP_LISTEN_FAILED") when the address is taken.
  absl::Status Start(const std::string& host, int port);
  int port() const { return port_; }

  // Stops accepting, interrupts idle connections and waits for running handlers. Idempotent.
  void Stop();

 private:
  struct Route {
    std::string method;
    std::string prefix;
    Handler handler;
  };

  void AcceptLoop();
  void ServeConnection(int fd, std::string remote);
  ServerResponse Dispatch(const ServerRequest& request) const;
  void JoinFinishedLocked();

  const Options options_;
  std::vector<Route> routes_;
  int listen_fd_ = -1;
  int wake_pipe_[2] = {-1, -1};
  int port_ = 0;
  std::thread acceptor_;
  std::atomic<bool> stopping_{false};

  std::mutex mu_;
  std::set<int> open_fds_;                          // connections being served
  std::map<std::thread::id, std::thread> workers_;  // one per open connection
  std::vector<std::thread::id> finished_;           // workers done, to be joined
};

}  // namespace dvc::http

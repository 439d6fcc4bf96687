// A small blocking HTTP client on libcurl for provider adapters (telco, population database,
// SMS gateway, …).
//
//   dvc::http::HttpClient client;
//   dvc::http::HttpRequest req;
//   req.method = "POST";
//   req.url = "http://127.0.0.1:18081/v1/subscribers/verify";
//   req.headers = {{"Content-Type", "application/json"}};
//   req.body = R"({"request_id":"…"})";
//   req.timeout = absl::Seconds(3);
//   absl::StatusOr<dvc::http::HttpResponse> resp = client.Do(req);
//
// Any HTTP status (including 4xx/5xx) is a successful Do(): the caller interprets it. Transport
// failures map to statuses built with libs/status:
//   connection refused / reset / DNS / TLS failure / empty reply
//                         → Unavailable, reason "UPSTREAM_UNAVAILABLE"
//   total or connect timeout exceeded
//                         → DeadlineExceeded, reason "UPSTREAM_TIMEOUT"
//   response body larger than max_response_bytes
//                         → Unavailable, reason "UPSTREAM_RESPONSE_TOO_LARGE"
//   malformed URL or a scheme other than http/https
//                         → InvalidArgument, reason "HTTP_BAD_URL", field "url"
// The error carries metadata "cause" with libcurl's generic error text (never the URL or body).
//
// Thread-safe: each thread reuses its own libcurl handle (keeping connections alive per thread);
// curl_global_init runs once per process. Redirects are not followed.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace dvc::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

// Value of the first header named `name` (ASCII case-insensitive), if any.
std::optional<std::string> FindHeader(const Headers& headers, absl::string_view name);

struct HttpRequest {
  std::string method = "GET";  // GET, POST, PUT, PATCH, DELETE, HEAD, …
  std::string url;             // http:// or https://
  Headers headers;
  std::string body;  // sent when non-empty (and always for POST/PUT/PATCH)
  absl::Duration timeout = absl::Seconds(10);         // whole exchange
  absl::Duration connect_timeout = absl::Seconds(3);  // TCP + TLS handshake
  size_t max_response_bytes = 8 << 20;
  // TLS (https only); empty = library defaults (system CA store, no client certificate).
  std::string ca_file;
  std::string client_cert_file;  // PEM
  std::string client_key_file;   // PEM
};

struct HttpResponse {
  int status = 0;
  std::string body;
  Headers headers;  // in arrival order; names as sent by the server
  std::optional<std::string> Header(absl::string_view name) const {
    return FindHeader(headers, name);
  }
};

class HttpClient final {
 public:
  HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  absl::StatusOr<HttpResponse> Do(const HttpRequest& request) const;
};

}  // namespace dvc::http

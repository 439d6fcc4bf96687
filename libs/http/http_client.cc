#include "libs/http/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/status/errors.h"

namespace dvc::http {
namespace {

// One libcurl easy handle per thread, reset before every request; keeps connections alive.
struct ThreadHandle {
  CURL* curl = nullptr;
  ~ThreadHandle() {
    if (curl != nullptr) curl_easy_cleanup(curl);
  }
};

CURL* HandleForThisThread() {
  thread_local ThreadHandle handle;
  if (handle.curl == nullptr) {
    handle.curl = curl_easy_init();
  } else {
    curl_easy_reset(handle.curl);
  }
  return handle.curl;
}

struct Sink {
  HttpResponse* response;
  size_t limit;
  bool too_large = false;
};

size_t WriteBody(char* data, size_t size, size_t nmemb, void* user) {
  auto* sink = static_cast<Sink*>(user);
  size_t n = size * nmemb;
  if (sink->response->body.size() + n > sink->limit) {
    sink->too_large = true;
    return 0;  // aborts the transfer with CURLE_WRITE_ERROR
  }
  sink->response->body.append(data, n);
  return n;
}

size_t WriteHeader(char* data, size_t size, size_t nmemb, void* user) {
  auto* sink = static_cast<Sink*>(user);
  size_t n = size * nmemb;
  absl::string_view line(data, n);
  line = absl::StripTrailingAsciiWhitespace(line);
  if (absl::StartsWith(line, "HTTP/")) {
    // A new status line (e.g. after "100 Continue"): headers of earlier responses are dropped.
    sink->response->headers.clear();
    return n;
  }
  size_t colon = line.find(':');
  if (colon == absl::string_view::npos || colon == 0) return n;
  sink->response->headers.emplace_back(
      std::string(absl::StripAsciiWhitespace(line.substr(0, colon))),
      std::string(absl::StripAsciiWhitespace(line.substr(colon + 1))));
  return n;
}

long Millis(absl::Duration d) {
  if (d == absl::InfiniteDuration()) return 0;  // libcurl: 0 = no limit
  int64_t ms = absl::ToInt64Milliseconds(d);
  return static_cast<long>(std::clamp<int64_t>(ms, 1, 1'000'000'000));
}

absl::Status TransportError(CURLcode code, const Sink& sink) {
  std::string cause = curl_easy_strerror(code);
  absl::Status s;
  if (sink.too_large) {
    s = status::Unavailable("UPSTREAM_RESPONSE_TOO_LARGE",
                            "Dịch vụ đối tác trả về dữ liệu quá lớn.",
                            "The upstream service returned too much data.");
  } else if (code == CURLE_OPERATION_TIMEDOUT) {
    s = status::DeadlineExceeded("UPSTREAM_TIMEOUT",
                                 "Dịch vụ đối tác không phản hồi kịp thời. Vui lòng thử lại sau.",
                                 "The upstream service did not answer in time. Please try again "
                                 "later.");
  } else if (code == CURLE_URL_MALFORMAT) {
    s = status::InvalidArgument("HTTP_BAD_URL", "url", "Địa chỉ dịch vụ đối tác không hợp lệ.",
                                "The upstream service URL is invalid.");
  } else {
    s = status::Unavailable("UPSTREAM_UNAVAILABLE",
                            "Dịch vụ đối tác tạm thời không khả dụng. Vui lòng thử lại sau.",
                            "The upstream service is temporarily unavailable. Please try again "
                            "later.");
  }
  return status::WithMetadata(std::move(s), "cause", cause);
}

}  // namespace

std::optional<std::string> FindHeader(const Headers& headers, absl::string_view name) {
  for (const auto& [k, v] : headers) {
    if (absl::EqualsIgnoreCase(k, name)) return v;
  }
  return std::nullopt;
}

HttpClient::HttpClient() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

absl::StatusOr<HttpResponse> HttpClient::Do(const HttpRequest& request) const {
  if (!absl::StartsWithIgnoreCase(request.url, "http://") &&
      !absl::StartsWithIgnoreCase(request.url, "https://")) {
    // (Checked here: after the exchange, CURLE_UNSUPPORTED_PROTOCOL also means a reply that is
    // not HTTP, which is an upstream failure.)
    return TransportError(CURLE_URL_MALFORMAT, Sink{nullptr, 0});
  }
  for (char c : request.method) {
    if (!absl::ascii_isupper(static_cast<unsigned char>(c))) {
      return status::InvalidArgument("HTTP_BAD_METHOD", "method", "Phương thức HTTP không hợp lệ.",
                                     "The HTTP method is invalid.");
    }
  }
  if (request.method.empty()) {
    return status::InvalidArgument("HTTP_BAD_METHOD", "method", "Phương thức HTTP không hợp lệ.",
                                   "The HTTP method is invalid.");
  }
  CURL* curl = HandleForThisThread();
  if (curl == nullptr) return status::Internal();

  HttpResponse response;
  Sink sink{&response, request.max_response_bytes};

  struct curl_slist* header_list = nullptr;
  for (const auto& [k, v] : request.headers) {
    header_list = curl_slist_append(header_list, absl::StrCat(k, ": ", v).c_str());
  }
  // No "Expect: 100-continue" round trip for larger bodies.
  header_list = curl_slist_append(header_list, "Expect:");

  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
#if LIBCURL_VERSION_NUM >= 0x075500
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
#else
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS, CURLPROTO_HTTP | CURLPROTO_HTTPS);
#endif
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, Millis(request.timeout));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, Millis(request.connect_timeout));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, header_list);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &WriteBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &WriteHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &sink);
  if (!request.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, request.ca_file.c_str());
  if (!request.client_cert_file.empty()) {
    curl_easy_setopt(curl, CURLOPT_SSLCERT, request.client_cert_file.c_str());
  }
  if (!request.client_key_file.empty()) {
    curl_easy_setopt(curl, CURLOPT_SSLKEY, request.client_key_file.c_str());
  }

  const std::string& m = request.method;
  bool send_body = !request.body.empty() || m == "POST" || m == "PUT" || m == "PATCH";
  if (m == "GET" && !send_body) {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  } else if (m == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else {
    if (m != "POST") curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, m.c_str());
  }
  if (send_body && m != "HEAD") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
  }

  CURLcode code = curl_easy_perform(curl);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
  curl_slist_free_all(header_list);
  if (code != CURLE_OK) return TransportError(code, sink);

  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  response.status = static_cast<int>(status);
  return response;
}

}  // namespace dvc::http

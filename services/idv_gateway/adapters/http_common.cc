#include "services/idv_gateway/adapters/http_common.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "libs/logging/log.h"
#include "libs/status/errors.h"

namespace dvc::idv {

absl::Status TransportOutcome(absl::string_view provider,
                              const absl::StatusOr<http::HttpResponse>& r) {
  if (!r.ok()) {
    const absl::StatusCode code = r.status().code();
    if (code == absl::StatusCode::kUnavailable || code == absl::StatusCode::kDeadlineExceeded) {
      return r.status();
    }
    log::Error("idv.provider_request_failed",
               {{"provider", std::string(provider)}, {"reason", status::ReasonOf(r.status())}});
    return status::Internal();
  }
  const int s = r->status;
  if (s >= 500 || s == 408 || s == 429) {
    return absl::UnavailableError(absl::StrCat(provider, " answered HTTP ", s));
  }
  return absl::OkStatus();
}

absl::Status UnexpectedReply(absl::string_view provider, absl::string_view what,
                             int http_status) {
  log::Error("idv.provider_unexpected_reply", {{"provider", std::string(provider)},
                                               {"what", std::string(what)},
                                               {"http_status", absl::StrCat(http_status)}});
  return status::Internal();
}

http::HttpRequest BaseRequest(const std::string& method, const std::string& url,
                              const std::string& request_id, absl::Duration timeout) {
  http::HttpRequest req;
  req.method = method;
  req.url = url;
  req.headers = {{"Accept", "application/json"}};
  if (!request_id.empty()) req.headers.push_back({"X-Request-Id", request_id});
  req.timeout = timeout;
  req.connect_timeout = std::min(timeout, absl::Seconds(3));
  req.max_response_bytes = 1 << 20;
  return req;
}

std::string TrimBaseUrl(absl::string_view base_url) {
  while (!base_url.empty() && base_url.back() == '/') base_url.remove_suffix(1);
  return std::string(base_url);
}

}  // namespace dvc::idv

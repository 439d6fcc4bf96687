#include "services/sigverify/adapters/http_revocation_fetcher.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace dvc::sigverify {
namespace {

bool IsHttpUrl(const std::string& url) {
  return url.size() > 7 && absl::StartsWithIgnoreCase(url, "http://");
}

}  // namespace

HttpRevocationFetcher::HttpRevocationFetcher(http::HttpClient* client,
                                             HttpRevocationFetcherOptions options)
    : client_(client), options_(options) {}

absl::StatusOr<std::string> HttpRevocationFetcher::Fetch(http::HttpRequest request) {
  if (!IsHttpUrl(request.url)) {
    return absl::InvalidArgumentError("revocation source URL must be http://");
  }
  request.connect_timeout = std::min(request.timeout, options_.max_connect_timeout);
  absl::StatusOr<http::HttpResponse> resp = client_->Do(request);
  if (!resp.ok()) return resp.status();
  if (resp->status != 200) {
    return absl::UnavailableError(absl::StrCat("revocation source answered HTTP ", resp->status));
  }
  if (resp->body.empty()) return absl::UnavailableError("revocation source sent an empty body");
  return std::move(resp->body);
}

absl::StatusOr<std::string> HttpRevocationFetcher::PostOcsp(const std::string& url,
                                                            const std::string& der_request,
                                                            absl::Duration timeout) {
  http::HttpRequest req;
  req.method = "POST";
  req.url = url;
  req.headers = {{"Content-Type", "application/ocsp-request"},
                 {"Accept", "application/ocsp-response"}};
  req.body = der_request;
  req.timeout = timeout;
  req.max_response_bytes = options_.max_ocsp_response_bytes;
  return Fetch(std::move(req));
}

absl::StatusOr<std::string> HttpRevocationFetcher::GetCrl(const std::string& url,
                                                          absl::Duration timeout) {
  http::HttpRequest req;
  req.method = "GET";
  req.url = url;
  req.timeout = timeout;
  req.max_response_bytes = options_.max_crl_bytes;
  return Fetch(std::move(req));
}

}  // namespace dvc::sigverify

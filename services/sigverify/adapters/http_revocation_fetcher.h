// RevocationFetcher on libs/http: POSTs OCSP requests (application/ocsp-request) and GETs CRLs.
// Only plain http:// URLs are accepted: AIA and CRL distribution points are HTTP by design
// (RFC 5280/6960 — the data is signed, so TLS would add nothing, and a TLS failure on the way to
// a revocation source must not depend on the revocation of the responder's own certificate).
// The URLs come from certificates that already chained to a trust anchor.
//
// Errors (all mean "source unavailable" to the checker):
//   non-http URL                     → InvalidArgument
//   transport failure / timeout      → as libs/http (Unavailable / DeadlineExceeded)
//   body larger than the cap         → Unavailable UPSTREAM_RESPONSE_TOO_LARGE (libs/http)
//   HTTP status other than 200       → Unavailable
//   empty body                       → Unavailable
#pragma once

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/http/http_client.h"
#include "services/sigverify/domain/revocation.h"

namespace dvc::sigverify {

struct HttpRevocationFetcherOptions {
  size_t max_ocsp_response_bytes = 64 << 10;  // a single-certificate answer is ~2–5 KiB
  size_t max_crl_bytes = 32 << 20;            // national CA CRLs can reach megabytes
  absl::Duration max_connect_timeout = absl::Seconds(3);
};

class HttpRevocationFetcher final : public RevocationFetcher {
 public:
  // `client` must outlive the fetcher (it is thread-safe and may be shared).
  explicit HttpRevocationFetcher(http::HttpClient* client,
                                 HttpRevocationFetcherOptions options = {});

  absl::StatusOr<std::string> PostOcsp(const std::string& url, const std::string& der_request,
                                       absl::Duration timeout) override;
  absl::StatusOr<std::string> GetCrl(const std::string& url, absl::Duration timeout) override;

 private:
  absl::StatusOr<std::string> Fetch(http::HttpRequest request);

  http::HttpClient* client_;
  HttpRevocationFetcherOptions options_;
};

}  // namespace dvc::sigverify

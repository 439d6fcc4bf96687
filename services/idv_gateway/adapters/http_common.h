// Shared by the HTTP provider adapters: how an HTTP exchange maps onto the outcome convention of
// domain/resilient_call.h.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "libs/http/http_client.h"

namespace dvc::idv {

// Transport errors from libs/http keep their code (UNAVAILABLE, DEADLINE_EXCEEDED: retryable);
// a bad URL is a deployment error (logged, INTERNAL). 5xx, 408 and 429 become UNAVAILABLE.
// Returns OK for any other HTTP status, which the adapter interprets.
absl::Status TransportOutcome(absl::string_view provider,
                              const absl::StatusOr<http::HttpResponse>& r);

// Logs an unexpected reply (status code only: bodies may hold personal data) and returns
// status::Internal().
absl::Status UnexpectedReply(absl::string_view provider, absl::string_view what, int http_status);

// The request both adapters send: JSON accepted, request id propagated, timeouts from the
// resilience policy (the connect timeout never exceeds the attempt's).
http::HttpRequest BaseRequest(const std::string& method, const std::string& url,
                              const std::string& request_id, absl::Duration timeout);

// base_url without trailing slashes.
std::string TrimBaseUrl(absl::string_view base_url);

}  // namespace dvc::idv

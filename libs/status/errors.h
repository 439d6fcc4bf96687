// The error model shared by every service: an absl::Status whose payload carries a stable
// machine-readable reason, the offending request field, and a message in Vietnamese and English.
// Domain code builds errors with the helpers below; libs/status/grpc_status.h maps them to gRPC
// in one place (google.rpc.Status with ErrorInfo, BadRequest and LocalizedMessage details).
#pragma once

#include <map>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"

namespace dvc::status {

struct ErrorInfo {
  std::string reason;      // stable code, UPPER_SNAKE, e.g. "CCCD_MALFORMED"
  std::string field;       // request field at fault, e.g. "cccd"; empty when none
  std::string message_vi;  // for the user, in Vietnamese
  std::string message_en;  // for the user, in English
  std::map<std::string, std::string> metadata;  // e.g. {"retry_after_s","30"}, {"flow_id",...}
};

inline constexpr char kPayloadUrl[] = "type.dvc.gov.vn/dvc.ErrorInfo";

// Builds a status with code, English message as the status message, and the ErrorInfo payload.
absl::Status MakeError(absl::StatusCode code, const ErrorInfo& info);

// Returns the ErrorInfo carried by `s`, if any.
std::optional<ErrorInfo> GetErrorInfo(const absl::Status& s);

// Returns a copy of `s` with metadata key=value added (creating an ErrorInfo if absent).
absl::Status WithMetadata(absl::Status s, absl::string_view key, absl::string_view value);

// Shorthands; arguments: reason, field, Vietnamese message, English message.
absl::Status InvalidArgument(absl::string_view reason, absl::string_view field,
                             absl::string_view vi, absl::string_view en);
absl::Status FailedPrecondition(absl::string_view reason, absl::string_view field,
                                absl::string_view vi, absl::string_view en);
absl::Status NotFound(absl::string_view reason, absl::string_view field, absl::string_view vi,
                      absl::string_view en);
absl::Status AlreadyExists(absl::string_view reason, absl::string_view field,
                           absl::string_view vi, absl::string_view en);
absl::Status Unauthenticated(absl::string_view reason, absl::string_view vi, absl::string_view en);
absl::Status PermissionDenied(absl::string_view reason, absl::string_view vi, absl::string_view en);
absl::Status ResourceExhausted(absl::string_view reason, absl::string_view vi, absl::string_view en,
                               int retry_after_s);
absl::Status Unavailable(absl::string_view reason, absl::string_view vi, absl::string_view en);
absl::Status DeadlineExceeded(absl::string_view reason, absl::string_view vi, absl::string_view en);
// Internal errors never carry detail to the client: log the cause where it happens, then
// return this generic status.
absl::Status Internal();

// Reason of `s` ("" when none): handy in tests and in callers that branch on a reason.
std::string ReasonOf(const absl::Status& s);

}  // namespace dvc::status

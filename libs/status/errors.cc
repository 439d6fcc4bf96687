#include "libs/status/errors.h"

#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"

namespace dvc::status {
namespace {

// Payload encoding: length-prefixed fields, so no proto dependency is needed at this layer.
void Put(std::string& out, absl::string_view s) {
  absl::StrAppend(&out, s.size(), ":", s);
}

bool Take(absl::string_view& in, std::string& out) {
  size_t colon = in.find(':');
  if (colon == absl::string_view::npos) return false;
  size_t n = 0;
  for (char c : in.substr(0, colon)) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + static_cast<size_t>(c - '0');
  }
  in.remove_prefix(colon + 1);
  if (in.size() < n) return false;
  out = std::string(in.substr(0, n));
  in.remove_prefix(n);
  return true;
}

std::string Encode(const ErrorInfo& e) {
  std::string out;
  Put(out, e.reason);
  Put(out, e.field);
  Put(out, e.message_vi);
  Put(out, e.message_en);
  for (const auto& [k, v] : e.metadata) {
    Put(out, k);
    Put(out, v);
  }
  return out;
}

absl::Status Make(absl::StatusCode code, absl::string_view reason, absl::string_view field,
                  absl::string_view vi, absl::string_view en) {
  return MakeError(code, ErrorInfo{std::string(reason), std::string(field), std::string(vi),
                                   std::string(en), {}});
}

}  // namespace

absl::Status MakeError(absl::StatusCode code, const ErrorInfo& info) {
  absl::Status s(code, info.message_en.empty() ? info.reason : info.message_en);
  s.SetPayload(kPayloadUrl, absl::Cord(Encode(info)));
  return s;
}

std::optional<ErrorInfo> GetErrorInfo(const absl::Status& s) {
  auto p = s.GetPayload(kPayloadUrl);
  if (!p.has_value()) return std::nullopt;
  std::string flat(*p);
  absl::string_view in(flat);
  ErrorInfo e;
  if (!Take(in, e.reason) || !Take(in, e.field) || !Take(in, e.message_vi) ||
      !Take(in, e.message_en)) {
    return std::nullopt;
  }
  while (!in.empty()) {
    std::string k, v;
    if (!Take(in, k) || !Take(in, v)) return std::nullopt;
    e.metadata[k] = v;
  }
  return e;
}

absl::Status WithMetadata(absl::Status s, absl::string_view key, absl::string_view value) {
  if (s.ok()) return s;
  ErrorInfo e = GetErrorInfo(s).value_or(ErrorInfo{});
  e.metadata[std::string(key)] = std::string(value);
  if (e.message_en.empty()) e.message_en = std::string(s.message());
  return MakeError(s.code(), e);
}

absl::Status InvalidArgument(absl::string_view reason, absl::string_view field,
                             absl::string_view vi, absl::string_view en) {
  return Make(absl::StatusCode::kInvalidArgument, reason, field, vi, en);
}
absl::Status FailedPrecondition(absl::string_view reason, absl::string_view field,
                                absl::string_view vi, absl::string_view en) {
  return Make(absl::StatusCode::kFailedPrecondition, reason, field, vi, en);
}
absl::Status NotFound(absl::string_view reason, absl::string_view field, absl::string_view vi,
                      absl::string_view en) {
  return Make(absl::StatusCode::kNotFound, reason, field, vi, en);
}
absl::Status AlreadyExists(absl::string_view reason, absl::string_view field,
                           absl::string_view vi, absl::string_view en) {
  return Make(absl::StatusCode::kAlreadyExists, reason, field, vi, en);
}
absl::Status Unauthenticated(absl::string_view reason, absl::string_view vi, absl::string_view en) {
  return Make(absl::StatusCode::kUnauthenticated, reason, "", vi, en);
}
absl::Status PermissionDenied(absl::string_view reason, absl::string_view vi, absl::string_view en) {
  return Make(absl::StatusCode::kPermissionDenied, reason, "", vi, en);
}
absl::Status ResourceExhausted(absl::string_view reason, absl::string_view vi, absl::string_view en,
                               int retry_after_s) {
  return WithMetadata(Make(absl::StatusCode::kResourceExhausted, reason, "", vi, en),
                      "retry_after_s", std::to_string(retry_after_s));
}
absl::Status Unavailable(absl::string_view reason, absl::string_view vi, absl::string_view en) {
  return Make(absl::StatusCode::kUnavailable, reason, "", vi, en);
}
absl::Status DeadlineExceeded(absl::string_view reason, absl::string_view vi, absl::string_view en) {
  return Make(absl::StatusCode::kDeadlineExceeded, reason, "", vi, en);
}
absl::Status Internal() {
  return Make(absl::StatusCode::kInternal, "INTERNAL",
              "", "Hệ thống đang gặp sự cố, vui lòng thử lại sau.",
              "An internal error occurred; please try again later.");
}

std::string ReasonOf(const absl::Status& s) {
  auto e = GetErrorInfo(s);
  return e ? e->reason : "";
}

}  // namespace dvc::status

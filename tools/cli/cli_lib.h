// Helpers of the `dvc` developer CLI (tools/cli/main.cc) that need no running stack: line
// prompts, yes/no answers, JWT payload decoding, error formatting, the SMS sink's OTP reply.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace dvc::cli {

// `line` without a trailing "\r" and surrounding ASCII whitespace.
std::string Trim(absl::string_view line);

// y / yes / c / co / có → true; n / no / k / khong / không → false (case-insensitive for
// ASCII); anything else → nullopt.
std::optional<bool> ParseYesNo(absl::string_view answer);

// Reads answers line by line; every reader returns nullopt at end of input. Labels are shown
// as "<vi> (<en>): ". When input is not a terminal, a newline follows each prompt so piped
// sessions stay readable; answers are never echoed back.
class Prompter final {
 public:
  // `tty`: input is a terminal (secrets are then read with echo off on file descriptor 0).
  Prompter(std::istream& in, std::ostream& out, bool tty) : in_(in), out_(out), tty_(tty) {}

  std::optional<std::string> Ask(absl::string_view vi, absl::string_view en);
  std::optional<std::string> Secret(absl::string_view vi, absl::string_view en);
  // Asks again until the answer parses as yes or no.
  std::optional<bool> YesNo(absl::string_view vi, absl::string_view en);

 private:
  std::optional<std::string> Read(absl::string_view vi, absl::string_view en, bool secret);
  std::istream& in_;
  std::ostream& out_;
  bool tty_;
};

// The claims of a compact JWS (header.payload.signature; the signature is NOT verified): each
// top-level member as (name, text): strings decoded, other values as raw JSON. InvalidArgument
// for anything that is not three parts with a base64url JSON object as payload.
absl::StatusOr<std::vector<std::pair<std::string, std::string>>> JwtClaims(absl::string_view token);

// The user-facing lines for an error: Vietnamese message, English message, reason and field
// (plus metadata such as retry_after_s). Statuses without ErrorInfo (e.g. the service cannot be
// reached) show their code and message.
std::string FormatError(const absl::Status& s);

struct SmsOtp {
  std::string otp;
  std::string message_id;
};
// Parses the SMS sink's `GET /v1/otp/last` answer {"otp": "123456", "message_id": "…"}.
std::optional<SmsOtp> ParseSmsOtp(absl::string_view body);

// `s` with every byte outside [A-Za-z0-9._~-] percent-encoded (for query values).
std::string UrlEncode(absl::string_view s);

}  // namespace dvc::cli

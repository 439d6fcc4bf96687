// Structured JSON logging, one object per line on stderr:
//   {"ts":"2026-11-23T18:01:02.123Z","level":"INFO","svc":"otp","msg":"otp.sent",
//    "request_id":"…","flow_id":"…", …}
// Secrets and personal data never reach the log: fields whose key names a secret or an
// identifier (password, otp, code, token, cccd, cmnd, id_number, phone, date_of_birth, email, …)
// are written as "[redacted]", and any value is scrubbed of digit runs of 9 or more (ID and
// phone numbers) before it is written. The request id of the current RPC is attached
// automatically (ScopedRequestId).
#pragma once

#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace dvc::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

using Field = std::pair<absl::string_view, std::string>;

void Init(absl::string_view service, Level min_level);
// "debug" | "info" | "warn" | "error" (anything else: info). Validate with
// config::Source::Enum(…, kLevelNames) first.
Level LevelFromName(absl::string_view name);
inline const std::vector<std::string> kLevelNames = {"debug", "info", "warn", "error"};
void SetSink(void (*sink)(const std::string& line));  // tests; nullptr restores stderr

void Write(Level level, absl::string_view msg, std::initializer_list<Field> fields = {});
inline void Debug(absl::string_view m, std::initializer_list<Field> f = {}) { Write(Level::kDebug, m, f); }
inline void Info(absl::string_view m, std::initializer_list<Field> f = {}) { Write(Level::kInfo, m, f); }
inline void Warn(absl::string_view m, std::initializer_list<Field> f = {}) { Write(Level::kWarn, m, f); }
inline void Error(absl::string_view m, std::initializer_list<Field> f = {}) { Write(Level::kError, m, f); }

// Replaces every run of 9+ digits with "[digits]"; exposed for tests and for error texts.
std::string ScrubDigits(absl::string_view s);
bool IsSensitiveKey(absl::string_view key);

// Sets the request id attached to log lines on this thread for the scope's lifetime.
class ScopedRequestId final {
 public:
  explicit ScopedRequestId(std::string id);
  ~ScopedRequestId();
  ScopedRequestId(const ScopedRequestId&) = delete;
  ScopedRequestId& operator=(const ScopedRequestId&) = delete;

 private:
  std::string previous_;
};
const std::string& CurrentRequestId();

}  // namespace dvc::log

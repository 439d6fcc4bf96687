#include "libs/logging/log.h"

#include <cstdio>
#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace dvc::log {
namespace {

std::mutex g_mu;
std::string g_service = "dvc";
Level g_min = Level::kInfo;
void (*g_sink)(const std::string&) = nullptr;
thread_local std::string t_request_id;

const char* LevelName(Level l) {
  switch (l) {
    case Level::kDebug: return "DEBUG";
    case Level::kInfo: return "INFO";
    case Level::kWarn: return "WARN";
    case Level::kError: return "ERROR";
  }
  return "INFO";
}

void AppendJsonString(std::string* out, absl::string_view s) {
  out->push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out->append(buf);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
  out->push_back('"');
}

}  // namespace

void Init(absl::string_view service, Level min_level) {
  std::lock_guard<std::mutex> l(g_mu);
  g_service = std::string(service);
  g_min = min_level;
}

Level LevelFromName(absl::string_view name) {
  if (name == "debug") return Level::kDebug;
  if (name == "warn") return Level::kWarn;
  if (name == "error") return Level::kError;
  return Level::kInfo;
}

void SetSink(void (*sink)(const std::string&)) {
  std::lock_guard<std::mutex> l(g_mu);
  g_sink = sink;
}

std::string ScrubDigits(absl::string_view s) {
  // A run of 9+ digits standing alone (not inside a longer alphanumeric token such as a UUID or
  // a hex digest) looks like a CMND/CCCD/phone/BHXH number and is replaced.
  auto alnum = [](char c) { return absl::ascii_isalnum(static_cast<unsigned char>(c)); };
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(s[i]))) {
      out.push_back(s[i++]);
      continue;
    }
    size_t j = i;
    while (j < s.size() && absl::ascii_isdigit(static_cast<unsigned char>(s[j]))) ++j;
    bool standalone = (i == 0 || !alnum(s[i - 1])) && (j == s.size() || !alnum(s[j]));
    if (j - i >= 9 && standalone) {
      out.append("[digits]");
    } else {
      out.append(s.data() + i, j - i);
    }
    i = j;
  }
  return out;
}

bool IsSensitiveKey(absl::string_view key) {
  // Substrings that mark a secret or personal datum wherever they appear in a key…
  static const char* kAnywhere[] = {"password", "passwd", "secret", "otp",      "token",
                                    "cccd",     "cmnd",   "id_number", "phone", "msisdn",
                                    "birth",    "email",  "address", "captcha_answer",
                                    "authorization", "cookie", "private"};
  // …and whole keys or key suffixes ("code" alone is an OTP; "grpc_code" is not).
  static const char* kExact[] = {"code", "pin", "key", "dob", "answer"};
  std::string k = absl::AsciiStrToLower(key);
  for (const char* s : kAnywhere) {
    if (absl::StrContains(k, s)) return true;
  }
  for (const char* s : kExact) {
    if (k == s || absl::EndsWith(k, absl::StrCat("_", s)) && k != "event_key" &&
                      k != "grpc_code" && k != "status_code") {
      return true;
    }
  }
  return false;
}

void Write(Level level, absl::string_view msg, std::initializer_list<Field> fields) {
  if (level < g_min) return;
  std::string line = "{\"ts\":";
  AppendJsonString(&line, absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()));
  line.append(",\"level\":");
  AppendJsonString(&line, LevelName(level));
  line.append(",\"svc\":");
  {
    std::lock_guard<std::mutex> l(g_mu);
    AppendJsonString(&line, g_service);
  }
  line.append(",\"msg\":");
  AppendJsonString(&line, ScrubDigits(msg));
  if (!t_request_id.empty()) {
    line.append(",\"request_id\":");
    AppendJsonString(&line, ScrubDigits(t_request_id));
  }
  for (const auto& [k, v] : fields) {
    line.push_back(',');
    AppendJsonString(&line, k);
    line.push_back(':');
    AppendJsonString(&line, IsSensitiveKey(k) ? std::string("[redacted]") : ScrubDigits(v));
  }
  line.push_back('}');
  void (*sink)(const std::string&);
  {
    std::lock_guard<std::mutex> l(g_mu);
    sink = g_sink;
  }
  if (sink != nullptr) {
    sink(line);
  } else {
    line.push_back('\n');
    std::fwrite(line.data(), 1, line.size(), stderr);
  }
}

ScopedRequestId::ScopedRequestId(std::string id) : previous_(std::move(t_request_id)) {
  t_request_id = std::move(id);
}
ScopedRequestId::~ScopedRequestId() { t_request_id = std::move(previous_); }
const std::string& CurrentRequestId() { return t_request_id; }

}  // namespace dvc::log

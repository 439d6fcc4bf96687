#include "tools/cli/cli_lib.h"

#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include <istream>
#include <ostream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "libs/crypto/encoding.h"
#include "libs/jwt/json.h"
#include "libs/status/errors.h"

namespace dvc::cli {
namespace {

// Terminal settings to restore if the user presses Ctrl-C while echo is off.
termios g_saved_tty{};
void RestoreTtyAndExit(int) {
  tcsetattr(STDIN_FILENO, TCSAFLUSH, &g_saved_tty);
  _exit(130);
}

}  // namespace

std::string Trim(absl::string_view line) { return std::string(absl::StripAsciiWhitespace(line)); }

std::optional<bool> ParseYesNo(absl::string_view answer) {
  std::string a = absl::AsciiStrToLower(Trim(answer));
  // AsciiStrToLower leaves "Ó"/"Ô" as they are.
  if (a == "y" || a == "yes" || a == "c" || a == "co" || a == "có" || a == "cÓ") return true;
  if (a == "n" || a == "no" || a == "k" || a == "khong" || a == "không" || a == "khÔng") {
    return false;
  }
  return std::nullopt;
}

std::optional<std::string> Prompter::Read(absl::string_view vi, absl::string_view en, bool secret) {
  out_ << vi << " (" << en << "): " << (tty_ ? "" : "\n") << std::flush;
  termios saved{};
  bool echo_off = secret && tty_ && tcgetattr(STDIN_FILENO, &saved) == 0;
  if (echo_off) {
    g_saved_tty = saved;
    signal(SIGINT, RestoreTtyAndExit);
    signal(SIGTERM, RestoreTtyAndExit);
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  std::string line;
  bool got = static_cast<bool>(std::getline(in_, line));
  if (echo_off) {
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    out_ << "\n";
  }
  if (!got) return std::nullopt;
  return Trim(line);
}

std::optional<std::string> Prompter::Ask(absl::string_view vi, absl::string_view en) {
  return Read(vi, en, false);
}

std::optional<std::string> Prompter::Secret(absl::string_view vi, absl::string_view en) {
  return Read(vi, en, true);
}

std::optional<bool> Prompter::YesNo(absl::string_view vi, absl::string_view en) {
  while (true) {
    auto a = Read(absl::StrCat(vi, " [c/k]"), absl::StrCat(en, " [y/n]"), false);
    if (!a) return std::nullopt;
    if (auto yn = ParseYesNo(*a)) return yn;
    out_ << "Hãy trả lời c hoặc k (please answer y or n).\n";
  }
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> JwtClaims(
    absl::string_view token) {
  std::vector<absl::string_view> parts = absl::StrSplit(token, '.');
  if (parts.size() != 3) {
    return absl::InvalidArgumentError("not a compact JWS (header.payload.signature)");
  }
  std::optional<std::string> payload = crypto::Base64UrlDecode(parts[1]);
  if (!payload) return absl::InvalidArgumentError("JWT payload is not base64url");
  auto json = jwt::ParseFlatJson(*payload);
  if (!json.ok()) return absl::InvalidArgumentError("JWT payload is not a JSON object");
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [name, value] : json->fields()) out.emplace_back(name, value.text);
  return out;
}

std::string FormatError(const absl::Status& s) {
  auto info = status::GetErrorInfo(s);
  if (!info || (info->message_vi.empty() && info->reason.empty())) {
    return absl::StrCat("  Lỗi (error): ", absl::StatusCodeToString(s.code()), ": ", s.message(),
                        "\n");
  }
  std::string out = absl::StrCat("  Lỗi:    ", info->message_vi, "\n  Error:  ", info->message_en,
                                 "\n  Reason: ", info->reason, "\n");
  if (!info->field.empty()) absl::StrAppend(&out, "  Field:  ", info->field, "\n");
  for (const auto& [k, v] : info->metadata) absl::StrAppend(&out, "  ", k, ": ", v, "\n");
  return out;
}

std::optional<SmsOtp> ParseSmsOtp(absl::string_view body) {
  auto json = jwt::ParseFlatJson(body);
  if (!json.ok()) return std::nullopt;
  auto otp = json->GetString("otp");
  if (!otp || otp->size() != 6 || otp->find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  return SmsOtp{*otp, json->GetString("message_id").value_or("")};
}

std::string UrlEncode(absl::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (absl::ascii_isalnum(c) || c == '.' || c == '_' || c == '~' || c == '-') {
      out.push_back(static_cast<char>(c));
    } else {
      absl::StrAppend(&out, absl::StrFormat("%%%02X", c));
    }
  }
  return out;
}

}  // namespace dvc::cli

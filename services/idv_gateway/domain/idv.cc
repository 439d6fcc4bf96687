#include "services/idv_gateway/domain/idv.h"

#include <algorithm>
#include <cctype>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "libs/logging/log.h"
#include "libs/status/errors.h"

namespace dvc::idv {
namespace {

bool AllDigits(absl::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Structurally valid UTF-8 (no overlongs, surrogates or code points above U+10FFFF).
bool ValidUtf8(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = s[i];
    int n = 0;
    uint32_t cp = 0;
    if (c < 0x80) { ++i; continue; }
    if ((c & 0xE0) == 0xC0) { n = 1; cp = c & 0x1F; }
    else if ((c & 0xF0) == 0xE0) { n = 2; cp = c & 0x0F; }
    else if ((c & 0xF8) == 0xF0) { n = 3; cp = c & 0x07; }
    else return false;
    for (int k = 1; k <= n; ++k) {
      if (i + k >= s.size()) return false;
      const unsigned char cc = s[i + k];
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

absl::Status PhoneInvalid() {
  return status::InvalidArgument(
      "PHONE_INVALID", "phone", "Số điện thoại di động không hợp lệ.",
      "The mobile phone number is not valid (e.g. 0912345678 or +84912345678).");
}

}  // namespace

absl::StatusOr<std::string> NormalizeMsisdn(const std::string& phone) {
  std::string p;
  for (char c : phone) {
    if (c == ' ' || c == '.' || c == '-' || c == '(' || c == ')') continue;
    p.push_back(c);
  }
  std::string national;  // the 9 digits after 0 / 84
  if (absl::StartsWith(p, "+84")) {
    national = p.substr(3);
  } else if (absl::StartsWith(p, "84") && p.size() == 11) {
    national = p.substr(2);
  } else if (absl::StartsWith(p, "0")) {
    national = p.substr(1);
  } else {
    return PhoneInvalid();
  }
  // Vietnamese mobile numbers: 9 digits after the trunk prefix, starting 3, 5, 7, 8 or 9.
  if (national.size() != 9 || !AllDigits(national) ||
      std::string("35789").find(national[0]) == std::string::npos) {
    return PhoneInvalid();
  }
  return "84" + national;
}

absl::Status ValidateIdNumber(const std::string& id_number) {
  if (AllDigits(id_number) && (id_number.size() == 9 || id_number.size() == 12)) {
    return absl::OkStatus();
  }
  return status::InvalidArgument("ID_NUMBER_INVALID", "id_number",
                                 "Số CCCD (12 chữ số) hoặc CMND (9 chữ số) không hợp lệ.",
                                 "The ID number must be a 12-digit CCCD or a 9-digit CMND.");
}

absl::Status ValidateCccd(const std::string& cccd) {
  if (AllDigits(cccd) && cccd.size() == 12) {
    const int province = std::stoi(cccd.substr(0, 3));
    if (province >= 1 && province <= 96) return absl::OkStatus();
  }
  return status::InvalidArgument("CCCD_MALFORMED", "cccd",
                                 "Số CCCD phải gồm 12 chữ số, bắt đầu bằng mã tỉnh hợp lệ.",
                                 "The CCCD number must be 12 digits starting with a valid "
                                 "province code.");
}

absl::Status ValidateDateOfBirth(const std::string& date, absl::Time now) {
  const absl::Status bad = status::InvalidArgument(
      "DATE_OF_BIRTH_INVALID", "date_of_birth",
      "Ngày sinh không hợp lệ (định dạng YYYY-MM-DD).",
      "The date of birth is not valid (format YYYY-MM-DD).");
  if (date.size() != 10 || date[4] != '-' || date[7] != '-' ||
      !AllDigits(date.substr(0, 4)) || !AllDigits(date.substr(5, 2)) ||
      !AllDigits(date.substr(8, 2))) {
    return bad;
  }
  const int y = std::stoi(date.substr(0, 4));
  const int m = std::stoi(date.substr(5, 2));
  const int d = std::stoi(date.substr(8, 2));
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (y < 1900 || m < 1 || m > 12 || d < 1) return bad;
  if (d > kDays[m - 1] + (m == 2 && IsLeap(y) ? 1 : 0)) return bad;
  const absl::CivilDay today = absl::ToCivilDay(now, absl::UTCTimeZone());
  if (absl::CivilDay(y, m, d) > today + 1) return bad;  // +1: the user's day may be ahead of UTC
  return absl::OkStatus();
}

IdvGateway::IdvGateway(TelcoProvider* telco, ResilientCaller* telco_caller,
                       PopulationProvider* population, ResilientCaller* population_caller,
                       LookupAudit* audit, Clock* clock)
    : telco_(telco),
      telco_caller_(telco_caller),
      population_(population),
      population_caller_(population_caller),
      audit_(audit),
      clock_(clock) {}

absl::StatusOr<SubscriberCheck> IdvGateway::CheckSubscriber(const CheckSubscriberInput& in,
                                                            absl::Time deadline) {
  absl::StatusOr<std::string> msisdn = NormalizeMsisdn(in.phone);
  if (!msisdn.ok()) return msisdn.status();
  if (absl::Status s = ValidateIdNumber(in.id_number); !s.ok()) return s;
  const std::string name(absl::StripAsciiWhitespace(in.full_name));
  if (name.empty() || name.size() > 200 || !ValidUtf8(name)) {
    return status::InvalidArgument("FULL_NAME_INVALID", "full_name",
                                   "Vui lòng nhập họ và tên (tối đa 200 ký tự).",
                                   "Please enter the full name (at most 200 characters).");
  }
  if (absl::Status s = ValidateDateOfBirth(in.date_of_birth, clock_->Now()); !s.ok()) return s;

  SubscriberQuery q{.request_id = in.request_id, .msisdn = *msisdn, .id_number = in.id_number,
                    .full_name = name, .date_of_birth = in.date_of_birth};
  std::vector<Attempt> attempts;
  absl::StatusOr<SubscriberCheck> r = telco_caller_->Call<SubscriberCheck>(
      CallSpec{.idempotent = true, .deadline = deadline},
      [&](absl::Duration timeout) { return telco_->VerifySubscriber(q, timeout); }, &attempts);
  Audit(in.request_id, *telco_caller_, "verify_subscriber", attempts);
  if (!r.ok()) return r.status();
  // A matching subscriber has no mismatches; a missing one has no match.
  if (!r->subscriber_found) {
    r->match = false;
    r->mismatches.clear();
  } else if (r->match && !r->mismatches.empty()) {
    log::Error("idv.telco_inconsistent_reply", {{"detail", "match with mismatches"}});
    return status::Internal();
  }
  return r;
}

absl::StatusOr<std::optional<CitizenRecord>> IdvGateway::LookupCitizen(
    const std::string& cccd, const std::string& request_id, absl::Time deadline) {
  if (absl::Status s = ValidateCccd(cccd); !s.ok()) return s;
  std::vector<Attempt> attempts;
  absl::StatusOr<std::optional<CitizenRecord>> r =
      population_caller_->Call<std::optional<CitizenRecord>>(
          CallSpec{.idempotent = true, .deadline = deadline},
          [&](absl::Duration timeout) { return population_->GetCitizen(cccd, timeout); },
          &attempts);
  Audit(request_id, *population_caller_, "get_citizen", attempts);
  return r;
}

void IdvGateway::Audit(const std::string& request_id, const ResilientCaller& caller,
                       const std::string& operation, const std::vector<Attempt>& attempts) {
  if (attempts.empty()) return;
  std::vector<AuditEntry> entries;
  entries.reserve(attempts.size());
  for (const Attempt& a : attempts) {
    entries.push_back(AuditEntry{.request_id = request_id,
                                 .provider = caller.provider().name,
                                 .operation = operation,
                                 .outcome = OutcomeName(a.outcome),
                                 .attempt = a.number,
                                 .latency_ms = absl::ToInt64Milliseconds(a.latency),
                                 .at = a.at});
  }
  // Best effort: the audit must not turn a provider answer into a failure for the citizen.
  if (absl::Status s = audit_->Record(entries); !s.ok()) {
    log::Error("idv.audit_failed", {{"provider", caller.provider().name},
                                    {"operation", operation},
                                    {"code", absl::StatusCodeToString(s.code())}});
  }
}

}  // namespace dvc::idv

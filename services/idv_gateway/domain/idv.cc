#include "services/idv_gateway/domain/idv.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "libs/logging/log.h"
#include "libs/status/errors.h"
#include "libs/validators/cccd.h"
#include "libs/validators/date.h"
#include "libs/validators/name.h"
#include "libs/validators/phone.h"

namespace dvc::idv {
absl::StatusOr<std::string> NormalizeMsisdn(const std::string& phone) {
  return validators::ToE164(phone, "phone");
}

absl::Status ValidateIdNumber(const std::string& id_number) {
  absl::StatusOr<validators::IdNumberKind> kind =
      validators::ClassifyIdNumber(id_number, "id_number");
  if (!kind.ok()) return kind.status();
  if (*kind == validators::IdNumberKind::kCccd) {
    return validators::ValidateCccd(id_number, "id_number");
  }
  return absl::OkStatus();
}

absl::Status ValidateCccd(const std::string& cccd) {
  return validators::ValidateCccd(cccd, "cccd");
}

absl::Status ValidateDateOfBirth(const std::string& date, absl::Time now) {
  absl::StatusOr<validators::Date> dob = validators::ParseDate(date, "date_of_birth");
  if (!dob.ok()) return dob.status();
  // "Today" in Vietnam (UTC+7, no daylight saving).
  const absl::CivilDay today = absl::ToCivilDay(now, absl::FixedTimeZone(7 * 3600));
  return validators::ValidateBirthDate(
      *dob, validators::Date{static_cast<int>(today.year()), today.month(), today.day()},
      "date_of_birth");
}

absl::Status ValidateRequestId(const std::string& request_id) {
  const bool ok = !request_id.empty() && request_id.size() <= 64 &&
                  std::all_of(request_id.begin(), request_id.end(), [](char c) {
                    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' ||
                           c == '_' || c == '.' || c == ':';
                  });
  if (ok) return absl::OkStatus();
  return status::InvalidArgument("REQUEST_ID_INVALID", "request_id",
                                 "Mã yêu cầu không hợp lệ.",
                                 "The request id must be 1-64 characters of A-Z a-z 0-9 . _ : -");
}

absl::StatusOr<std::string> NormalizeFullName(const std::string& name) {
  absl::StatusOr<std::string> n = validators::NormalizeName(name, "full_name");
  if (!n.ok()) return n.status();
  if (absl::Status s = validators::ValidateFullName(*n, "full_name"); !s.ok()) return s;
  return n;
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
  if (absl::Status s = ValidateRequestId(in.request_id); !s.ok()) return s;
  absl::StatusOr<std::string> msisdn = NormalizeMsisdn(in.phone);
  if (!msisdn.ok()) return msisdn.status();
  if (absl::Status s = ValidateIdNumber(in.id_number); !s.ok()) return s;
  absl::StatusOr<std::string> name = NormalizeFullName(in.full_name);
  if (!name.ok()) return name.status();
  if (absl::Status s = ValidateDateOfBirth(in.date_of_birth, clock_->Now()); !s.ok()) return s;

  SubscriberQuery q{.request_id = in.request_id, .msisdn = *msisdn, .id_number = in.id_number,
                    .full_name = *name, .date_of_birth = in.date_of_birth};
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
          [&](absl::Duration timeout) { return population_->GetCitizen(cccd, request_id, timeout); },
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

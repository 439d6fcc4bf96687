// Identity-verification gateway domain: validates requests, calls the providers through their
// ports under the resilience policy (resilient_call.h) and writes one audit row per provider
// attempt. No gRPC, HTTP or SQL types here.
//
// Providers plug in by kind: one port per kind (TelcoProvider, PopulationProvider; BHXH and
// VNPost will add theirs), one adapter per protocol (adapters/http_telco, http_population, …),
// each wrapped by its own ResilientCaller (its own breaker, metrics label and audit name).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/clock/clock.h"
#include "services/idv_gateway/domain/resilient_call.h"

namespace dvc::idv {

// ---- Telco: subscriber ownership (chính chủ) ----

struct SubscriberQuery {
  std::string request_id;
  std::string msisdn;  // E.164 without '+', e.g. "84912345678"
  std::string id_number;
  std::string full_name;
  std::string date_of_birth;  // YYYY-MM-DD
};

struct SubscriberCheck {
  bool subscriber_found = false;
  bool match = false;
  std::vector<std::string> mismatches;  // "id_number", "full_name", "date_of_birth"
  std::string carrier;                  // e.g. "VIETTEL"; empty when unknown
};

// Port of the telco kind. Errors follow the convention of resilient_call.h.
class TelcoProvider {
 public:
  virtual ~TelcoProvider() = default;
  virtual absl::StatusOr<SubscriberCheck> VerifySubscriber(const SubscriberQuery& q,
                                                           absl::Duration timeout) = 0;
};

// ---- Population database (CSDL dân cư) ----

struct CitizenRecord {
  std::string cccd;
  std::string cmnd;
  std::string full_name;
  std::string date_of_birth;
  std::string gender;  // "male" | "female"
  std::string place_of_birth;
  std::string hometown;
  std::string permanent_address;
};

class PopulationProvider {
 public:
  virtual ~PopulationProvider() = default;
  // nullopt when the provider has no such citizen.
  virtual absl::StatusOr<std::optional<CitizenRecord>> GetCitizen(const std::string& cccd,
                                                                  const std::string& request_id,
                                                                  absl::Duration timeout) = 0;
};

// ---- Audit: one row per provider attempt, no personal data ----

struct AuditEntry {
  std::string request_id;
  std::string provider;   // "telco" | "population"
  std::string operation;  // "verify_subscriber" | "get_citizen"
  std::string outcome;    // OutcomeName()
  int attempt = 1;
  int64_t latency_ms = 0;
  absl::Time at;
};

class LookupAudit {
 public:
  virtual ~LookupAudit() = default;
  virtual absl::Status Record(const std::vector<AuditEntry>& entries) = 0;
};

// ---- Input validation (exposed for tests) ----

// Thin wrappers over libs/validators with this API's field names. All INVALID_ARGUMENT.
// "0912345678", "84912345678", "+84 912 345 678" → "84912345678" (E.164 without '+');
// PHONE_MALFORMED otherwise.
absl::StatusOr<std::string> NormalizeMsisdn(const std::string& phone);
// 12-digit CCCD (valid province code) or 9-digit CMND: ID_NUMBER_MALFORMED, CCCD_MALFORMED,
// CCCD_PROVINCE_INVALID.
absl::Status ValidateIdNumber(const std::string& id_number);
// CCCD_MALFORMED, CCCD_PROVINCE_INVALID (field "cccd").
absl::Status ValidateCccd(const std::string& cccd);
// YYYY-MM-DD, a real date, not in the future (Vietnam time), not before 1900: DATE_MALFORMED,
// BIRTH_DATE_INVALID.
absl::Status ValidateDateOfBirth(const std::string& date, absl::Time now);
// 1-64 characters of [A-Za-z0-9._:-]: REQUEST_ID_INVALID.
absl::Status ValidateRequestId(const std::string& request_id);
// NFC, whitespace collapsed; NAME_REQUIRED, NAME_INVALID.
absl::StatusOr<std::string> NormalizeFullName(const std::string& name);

struct CheckSubscriberInput {
  std::string request_id;  // the caller's, else the RPC's x-request-id (set by the API layer)
  std::string phone;
  std::string id_number;
  std::string full_name;
  std::string date_of_birth;
};

class IdvGateway final {
 public:
  // Every pointer must outlive the gateway.
  IdvGateway(TelcoProvider* telco, ResilientCaller* telco_caller, PopulationProvider* population,
             ResilientCaller* population_caller, LookupAudit* audit, Clock* clock);

  // `deadline`: the incoming call's deadline (InfiniteFuture when none).
  absl::StatusOr<SubscriberCheck> CheckSubscriber(const CheckSubscriberInput& in,
                                                  absl::Time deadline);
  absl::StatusOr<std::optional<CitizenRecord>> LookupCitizen(const std::string& cccd,
                                                             const std::string& request_id,
                                                             absl::Time deadline);

 private:
  void Audit(const std::string& request_id, const ResilientCaller& caller,
             const std::string& operation, const std::vector<Attempt>& attempts);

  TelcoProvider* telco_;
  ResilientCaller* telco_caller_;
  PopulationProvider* population_;
  ResilientCaller* population_caller_;
  LookupAudit* audit_;
  Clock* clock_;
};

}  // namespace dvc::idv

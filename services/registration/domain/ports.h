// Ports of the registration domain: the flow store and the clients of the other services.
// Adapters: adapters/pg_flow_store (PostgreSQL), adapters/grpc_clients (accounts, idv_gateway,
// auth; otp and sigverify from their shared client libraries). Errors from the clients are
// domain statuses (libs/status), i.e. the peer's reason/field/messages survive the hop
// (status::FromGrpcStatus).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/registration/domain/flow.h"
#include "services/otp/client/otp_client.h"
#include "services/sigverify/client/sigverify_client.h"

namespace dvc::registration {

// ---- persistence ----

// The outcome of a step run under the flow lock: `save` persists the (modified) flow, whatever
// `status` says, so a step can record "FAILED" and still answer the error that caused it.
struct StepResult {
  bool save = false;
  absl::Status status;
};
// `flow` is nullptr when no flow has that id.
using StepFn = std::function<StepResult(Flow* flow)>;

class FlowStore {
 public:
  virtual ~FlowStore() = default;
  // Inserts a new flow (version 1). ALREADY_EXISTS when its start_request_id was already used.
  virtual absl::Status Insert(const Flow& flow) = 0;
  // The flow, or nullopt when unknown.
  virtual absl::StatusOr<std::optional<Flow>> Get(const std::string& flow_id) = 0;
  virtual absl::StatusOr<std::optional<Flow>> FindByStartRequest(
      const std::string& request_id) = 0;
  // Runs `fn` with the flow locked: steps on one flow are serialised (a concurrent caller waits,
  // then sees the state the first one left). Saves the flow when fn asks to (version + 1), then
  // returns fn's status; store errors take precedence.
  virtual absl::Status WithLockedFlow(const std::string& flow_id, const StepFn& fn) = 0;
};

// ---- idv_gateway ----

struct SubscriberQuery {
  std::string request_id;
  std::string phone;
  std::string id_number;
  std::string full_name;
  std::string date_of_birth;
};

struct SubscriberAnswer {
  bool subscriber_found = false;
  bool match = false;
  std::vector<std::string> mismatches;  // "id_number", "full_name", "date_of_birth"
  std::string carrier;
};

class IdvClient {
 public:
  virtual ~IdvClient() = default;
  // UNAVAILABLE / DEADLINE_EXCEEDED when the provider is down or slow.
  virtual absl::StatusOr<SubscriberAnswer> CheckSubscriber(const SubscriberQuery& q) = 0;
};

// ---- accounts ----

struct NewCitizenAccount {
  std::string request_id;  // idempotency key: the flow id
  Applicant identity;
  int ial = 2;
  std::string verification_source;  // "TELCO"
  std::string registration_method;  // "MOBILE"
  std::string password;
  std::string consent_version;
};

struct CreatedAccount {
  std::string account_id;
  int ial = 0;
};

// The duplicate-check key of a subject (SUB-1..3): a citizen by CCCD or CMND, a business by
// MST, an agency by unit code + the official's CCCD.
struct AccountKey {
  SubjectKind kind = SubjectKind::kCitizen;
  std::string id_number;  // CITIZEN: CCCD (12) or CMND (9)
  std::string mst;        // BUSINESS
  std::string unit_code;  // AGENCY
  std::string official_cccd;  // AGENCY
};

// A signing certificate as an account credential.
struct CertificateCredential {
  std::string fingerprint_sha256;
  std::string method;  // "USB" | "SIM" | "SMARTCA"
  std::string issuer_cn;
  std::string serial_hex;
  absl::Time not_after;
  std::string subscriber;  // SIM: MSISDN 84xxxxxxxxx; SmartCA: user id; "" for USB
};

// An account created from a verified certificate (IAL3). Exactly one of the identity parts is
// used, by `kind`.
struct NewCertificateAccount {
  std::string request_id;  // idempotency key: the flow id
  SubjectKind kind = SubjectKind::kCitizen;
  struct Citizen {
    std::string cccd, cmnd, passport, full_name, phone, email;
  } citizen;
  struct Business {
    std::string mst, name, email, phone, address, representative_cccd;
  } business;
  struct Agency {
    std::string unit_code, organization_name, official_cccd, official_full_name, email, phone;
  } agency;
  CertificateCredential credential;
  std::string consent_version;
  int ial = 3;
};

// Adds a certificate to an existing account (IAL-2: raises the account to IAL3).
struct CertificateLink {
  std::string request_id;  // idempotency key
  std::string account_id;
  CertificateCredential credential;
  std::string identity_number;  // CCCD/CMND (citizen, official) or MST the certificate names
};

class AccountsClient {
 public:
  virtual ~AccountsClient() = default;
  // True when an account exists for this CCCD/CMND.
  virtual absl::StatusOr<bool> Exists(const std::string& id_number) = 0;
  // Idempotent on request_id; ALREADY_EXISTS when another account holds the id number.
  virtual absl::StatusOr<CreatedAccount> CreateCitizen(const NewCitizenAccount& a) = 0;
  // The id of the account holding `key`, or nullopt.
  virtual absl::StatusOr<std::optional<std::string>> LookupAccountId(const AccountKey& key) = 0;
  // Idempotent on request_id; ALREADY_EXISTS when another account holds the subject's key or
  // the certificate.
  virtual absl::StatusOr<CreatedAccount> CreateCertificateAccount(
      const NewCertificateAccount& a) = 0;
  // Idempotent on request_id; answers the account's id and (raised) level.
  virtual absl::StatusOr<CreatedAccount> AddCertificate(const CertificateLink& link) = 0;
};

// ---- sigverify ----

// The sigverify service's client port, shared with every caller of sigverify. Registration calls
// it for purpose REGISTRATION only, bound to the registration flow id. Failures carry sigverify's
// reasons (CERT_*, SIGNATURE_*, CHALLENGE_*, SIGNER_*).
using SigverifyClient = sigverify::client::SigverifyClient;
using SignatureFormat = sigverify::client::SignatureFormat;
using RemoteProvider = sigverify::client::RemoteProvider;
using ChallengeSignature = sigverify::client::ChallengeSignature;
using RemoteSignatureRequest = sigverify::client::RemoteSignatureRequest;

// ---- auth ----

struct TokenInfo {
  bool active = false;
  std::string account_id;  // the token's subject
};

class AuthClient {
 public:
  virtual ~AuthClient() = default;
  // active=false for an unknown, expired or revoked token.
  virtual absl::StatusOr<TokenInfo> Introspect(const std::string& access_token) = 0;
};

// ---- otp ----

// The otp service's client port, shared with every caller of otp.
using OtpChallenge = otp::client::Challenge;
using OtpClient = otp::client::OtpClient;

}  // namespace dvc::registration

// Accounts domain: the system of record for accounts (citizens, businesses, state-agency
// officials) and their credentials (password, digital-signature certificates).
// No gRPC or SQL types here; persistence is the AccountStore port (adapters/pg_account_store).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "libs/clock/clock.h"
#include "libs/crypto/password.h"
#include "libs/crypto/random.h"

namespace dvc::accounts {

enum class SubjectKind { kCitizen = 1, kBusiness = 2, kAgency = 3 };
enum class AccountStatus { kActive = 1, kLocked = 2, kClosed = 3 };

struct CitizenIdentity {
  std::string cccd;           // 12 digits or empty
  std::string cmnd;           // 9 digits or empty
  std::string full_name;      // NFC-normalised
  std::string date_of_birth;  // YYYY-MM-DD (may be empty for certificate registrations)
  std::string gender;         // "MALE" | "FEMALE" | ""
  std::string phone;          // domestic 0xxxxxxxxx (may be empty for certificate registrations)
  std::string email;
  std::string passport;       // upper-case letters/digits or empty (certificate registrations)
};

// SUB-2: unique by MST.
struct BusinessIdentity {
  std::string mst;                  // 10 digits or 10-3 (branch)
  std::string name;                 // NFC-normalised, whitespace collapsed
  std::string email;                // required
  std::string phone;                // domestic or empty
  std::string address;
  std::string representative_cccd;  // or empty
};

// SUB-3: unique by (unit_code, official_cccd).
struct AgencyIdentity {
  std::string unit_code;            // NNN.NN.NN.XNN
  std::string organization_name;
  std::string official_cccd;
  std::string official_full_name;
  std::string email;
  std::string phone;
};

inline constexpr char kMethodUsb[] = "USB";
inline constexpr char kMethodSim[] = "SIM";
inline constexpr char kMethodSmartCa[] = "SMARTCA";
inline constexpr char kSourceCertificate[] = "CERTIFICATE";

struct CertificateCredential {
  std::string fingerprint_sha256;  // 64 lower-case hex digits
  std::string method;              // kMethodUsb | kMethodSim | kMethodSmartCa
  std::string issuer_cn;
  std::string serial_hex;          // lower-case hex
  absl::Time not_after = absl::InfinitePast();
  std::string subscriber;          // SIM: MSISDN 84xxxxxxxxx; SMARTCA: user id; may be empty
  absl::Time created_at = absl::InfinitePast();  // set by the store
};

struct Account {
  std::string account_id;
  SubjectKind subject_kind = SubjectKind::kCitizen;
  int ial = 0;
  AccountStatus status = AccountStatus::kActive;
  CitizenIdentity citizen;    // subject_kind == kCitizen
  BusinessIdentity business;  // subject_kind == kBusiness
  AgencyIdentity agency;      // subject_kind == kAgency
  std::string verification_source;
  std::string registration_method;
  absl::Time created_at;
  bool has_password = false;
};

struct NewCitizen {
  std::string request_id;
  CitizenIdentity identity;
  int ial = 2;
  std::string verification_source;
  std::string registration_method;
  std::string password;
  std::string consent_version;
};

// An IAL3 account registered with a certificate (no password).
struct NewCertificateAccount {
  std::string request_id;
  SubjectKind subject_kind = SubjectKind::kCitizen;
  CitizenIdentity citizen;    // used when subject_kind == kCitizen
  BusinessIdentity business;  // kBusiness
  AgencyIdentity agency;      // kAgency
  CertificateCredential certificate;
  std::string consent_version;
};

struct NewCertificate {
  std::string request_id;
  std::string account_id;
  CertificateCredential certificate;
  std::string identity_number;  // what the certificate carries; checked against the account
};

// Who holds a certificate (FindByCertificate): no personal data.
struct CertificateOwner {
  std::string account_id;
  AccountStatus status = AccountStatus::kActive;
  int ial = 0;
  SubjectKind subject_kind = SubjectKind::kCitizen;
  std::string method;
};

// Persistence port. Implementations write the account, its identity, credential, consent, an
// audit record and the outbox events in one transaction.
class AccountStore {
 public:
  virtual ~AccountStore() = default;
  // Creates the account. If `request_id` was used before, returns the account created then
  // (idempotent retry). If the CCCD/CMND already belongs to an account: ALREADY_EXISTS with
  // reason ACCOUNT_EXISTS.
  virtual absl::StatusOr<Account> CreateCitizen(const NewCitizen& c, const std::string& account_id,
                                                const std::string& password_hash) = 0;
  virtual absl::StatusOr<std::optional<Account>> Get(const std::string& account_id) = 0;
  // By CCCD (12 digits) or CMND (9 digits).
  virtual absl::StatusOr<std::optional<Account>> FindByIdNumber(const std::string& id_number) = 0;
  // The account holding a CCCD/CMND, without opening any sealed field.
  virtual absl::StatusOr<std::optional<std::string>> FindAccountId(
      const std::string& id_number) = 0;
  // The account id and password hash for a CCCD/CMND in one read, without opening any sealed
  // field: the login path does the same work whether the password is right or wrong.
  struct Credential {
    std::string account_id;
    std::string password_hash;
    int ial = 0;
    AccountStatus status = AccountStatus::kActive;
    std::string phone_sealed;  // opened only after the password proved right
  };
  virtual absl::StatusOr<std::optional<Credential>> FindCredential(
      const std::string& id_number) = 0;
  // The default OTP phone of a credential FindCredential returned.
  virtual absl::StatusOr<std::string> OpenPhone(const Credential& c) = 0;
  // Replaces the password hash; `change` is "SET", "CHANGED" or "REHASHED". A rehash (same
  // password, new parameters) emits no event and applies only while the stored hash is still
  // `previous_hash`, so it can never undo a password change that committed meanwhile.
  virtual absl::Status SetPasswordHash(const std::string& account_id, const std::string& hash,
                                       const std::string& change,
                                       const std::string& previous_hash = "") = 0;

  // Creates an IAL3 certificate account (validated input), ial 3, source CERTIFICATE, method =
  // the certificate's. Idempotent on request_id. ALREADY_EXISTS: ACCOUNT_EXISTS /
  // BUSINESS_ACCOUNT_EXISTS / AGENCY_ACCOUNT_EXISTS for a duplicate subject,
  // CERTIFICATE_ALREADY_REGISTERED when the certificate belongs to an account.
  virtual absl::StatusOr<Account> CreateCertificateAccount(const NewCertificateAccount& c,
                                                           const std::string& account_id) = 0;
  // Binds a certificate to an account (validated input; the identity was checked by the
  // domain) and raises the account to IAL 3. Idempotent on request_id (REQUEST_ID_REUSED when
  // it was used for another account or certificate); the same active certificate on the same
  // account is a no-op. ACCOUNT_NOT_FOUND, ACCOUNT_NOT_ACTIVE (FAILED_PRECONDITION),
  // CERTIFICATE_ALREADY_REGISTERED (ALREADY_EXISTS) when another account holds it.
  virtual absl::StatusOr<Account> AddCertificate(const NewCertificate& c) = 0;
  // The holder of an active (not removed) certificate.
  virtual absl::StatusOr<std::optional<CertificateOwner>> FindByCertificate(
      const std::string& fingerprint_sha256) = 0;
  // Active certificates of the account, oldest first; nullopt when the account does not exist.
  virtual absl::StatusOr<std::optional<std::vector<CertificateCredential>>> ListCertificates(
      const std::string& account_id) = 0;
  // Least-privilege duplicate checks (nothing sealed is opened).
  virtual absl::StatusOr<std::optional<std::string>> FindAccountIdByMst(const std::string& mst) = 0;
  virtual absl::StatusOr<std::optional<std::string>> FindAccountIdByAgency(
      const std::string& unit_code, const std::string& official_cccd) = 0;
};

// The keys LookupAccountId accepts: exactly one of id_number, mst, or unit_code+official_cccd.
struct AccountKey {
  std::string id_number;
  std::string mst;
  std::string unit_code;
  std::string official_cccd;
};

// What a login needs to go on; set only when valid (no other personal data is opened).
struct PasswordCheck {
  bool valid = false;
  std::string account_id;
  int ial = 0;
  AccountStatus status = AccountStatus::kActive;
  std::string phone;  // default OTP phone
};

class AccountsDomain final {
 public:
  // `hash_concurrency`: Argon2id computations allowed at once (default: one per core), each in
  // its own reused workspace (crypto::PasswordHasher).
  // `clock` (for certificate expiry) defaults to the system clock.
  AccountsDomain(AccountStore* store, crypto::Random* random, crypto::Argon2Params params,
                 int hash_concurrency = 0, Clock* clock = nullptr);

  absl::StatusOr<Account> CreateCitizen(NewCitizen c);
  absl::StatusOr<Account> Get(const std::string& account_id);
  absl::StatusOr<Account> Find(const std::string& id_number);
  // The id of the account holding `id_number`, or nullopt; malformed → INVALID_ARGUMENT.
  absl::StatusOr<std::optional<std::string>> LookupAccountId(const std::string& id_number);
  // By any one key kind (id_number, mst, or unit_code + official_cccd); INVALID_ARGUMENT when
  // none, several, or a malformed one is given.
  absl::StatusOr<std::optional<std::string>> LookupAccountId(const AccountKey& key);
  absl::Status SetPassword(const std::string& account_id, const std::string& password);
  // Unknown identifiers cost one Argon2id verification too and answer valid=false, so neither
  // the answer nor its timing tells whether the account exists.
  absl::StatusOr<PasswordCheck> VerifyPassword(const std::string& id_number,
                                               const std::string& password);

  // IAL3 accounts registered with a certificate (see AccountStore for the store's errors).
  absl::StatusOr<Account> CreateCertificateAccount(NewCertificateAccount c);
  absl::StatusOr<Account> AddCertificate(NewCertificate c);
  // nullopt when no account holds the (active) certificate.
  absl::StatusOr<std::optional<CertificateOwner>> FindByCertificate(
      const std::string& fingerprint_sha256);
  absl::StatusOr<std::vector<CertificateCredential>> ListCertificates(
      const std::string& account_id);

 private:
  absl::Status ValidateIdentity(CitizenIdentity* id) const;
  absl::Status ValidateCertificate(CertificateCredential* c, const std::string& field) const;

  AccountStore* store_;
  crypto::Random* random_;
  crypto::PasswordHasher hasher_;
  SystemClock system_clock_;
  Clock* clock_;
  std::string dummy_hash_;  // verified against when the account does not exist
};

}  // namespace dvc::accounts

// Accounts domain: the system of record for citizen accounts and their password credential.
// No gRPC or SQL types here; persistence is the AccountStore port (adapters/pg_account_store).
#pragma once

#include <optional>
#include <string>

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
  std::string date_of_birth;  // YYYY-MM-DD
  std::string gender;         // "MALE" | "FEMALE" | ""
  std::string phone;          // domestic 0xxxxxxxxx
  std::string email;
};

struct Account {
  std::string account_id;
  SubjectKind subject_kind = SubjectKind::kCitizen;
  int ial = 0;
  AccountStatus status = AccountStatus::kActive;
  CitizenIdentity citizen;
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
  // `hash_concurrency`: Argon2id computations allowed at once (default: one per core). Each
  // needs m KiB of memory bandwidth; running more than the cores at once only thrashes caches.
  AccountsDomain(AccountStore* store, crypto::Random* random, crypto::Argon2Params params,
                 int hash_concurrency = 0);

  absl::StatusOr<Account> CreateCitizen(NewCitizen c);
  absl::StatusOr<Account> Get(const std::string& account_id);
  absl::StatusOr<Account> Find(const std::string& id_number);
  // The id of the account holding `id_number`, or nullopt; malformed → INVALID_ARGUMENT.
  absl::StatusOr<std::optional<std::string>> LookupAccountId(const std::string& id_number);
  absl::Status SetPassword(const std::string& account_id, const std::string& password);
  // Unknown identifiers cost one Argon2id verification too and answer valid=false, so neither
  // the answer nor its timing tells whether the account exists.
  absl::StatusOr<PasswordCheck> VerifyPassword(const std::string& id_number,
                                               const std::string& password);

 private:
  absl::Status ValidateIdentity(CitizenIdentity* id) const;
  absl::StatusOr<std::string> Hash(const std::string& password);
  absl::StatusOr<bool> Verify(const std::string& password, const std::string& phc);

  AccountStore* store_;
  crypto::Random* random_;
  crypto::Argon2Params params_;
  std::string dummy_hash_;  // verified against when the account does not exist
  absl::Mutex hash_mu_;
  int hash_slots_ ABSL_GUARDED_BY(hash_mu_);
};

}  // namespace dvc::accounts

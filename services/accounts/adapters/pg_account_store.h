// PostgreSQL implementation of the AccountStore port. Personal data is sealed with
// AES-256-GCM (crypto::FieldCipher, associated data = account id + column) and found through
// HMAC blind indexes; events go to the transactional outbox in the same transaction.
#pragma once

#include <string>

#include "libs/crypto/aead.h"
#include "libs/crypto/random.h"
#include "libs/pg/pool.h"
#include "services/accounts/domain/accounts.h"

namespace dvc::accounts {

inline constexpr char kAccountsTopic[] = "dvc.accounts.v1";

class PgAccountStore final : public AccountStore {
 public:
  // `index_key`: the key of the blind indexes (kept apart from the sealing keys).
  PgAccountStore(pg::Pool* pool, const crypto::FieldCipher* cipher, std::string index_key,
                 crypto::Random* random);

  absl::StatusOr<Account> CreateCitizen(const NewCitizen& c, const std::string& account_id,
                                        const std::string& password_hash) override;
  absl::StatusOr<std::optional<Account>> Get(const std::string& account_id) override;
  absl::StatusOr<std::optional<Account>> FindByIdNumber(const std::string& id_number) override;
  absl::StatusOr<std::optional<std::string>> FindAccountId(const std::string& id_number) override;
  absl::StatusOr<std::optional<Credential>> FindCredential(const std::string& id_number) override;
  absl::StatusOr<std::string> OpenPhone(const Credential& c) override;
  absl::Status SetPasswordHash(const std::string& account_id, const std::string& hash,
                               const std::string& change,
                               const std::string& previous_hash) override;

 private:
  absl::StatusOr<std::optional<Account>> Load(pqxx::work& tx, const std::string& where,
                                              const std::string& param);
  std::string Index(const std::string& kind, const std::string& value) const;

  pg::Pool* pool_;
  const crypto::FieldCipher* cipher_;
  std::string index_key_;
  crypto::Random* random_;
};

}  // namespace dvc::accounts

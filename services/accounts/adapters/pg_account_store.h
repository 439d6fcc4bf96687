// PostgreSQL implementation of the AccountStore port. Personal data is sealed with
// AES-256-GCM (crypto::FieldCipher, associated data = account id + column) and found through
// HMAC blind indexes; events go to the transactional outbox in the same transaction.
#pragma once

#include <string>
#include <vector>

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
  absl::StatusOr<Account> CreateCertificateAccount(const NewCertificateAccount& c,
                                                   const std::string& account_id) override;
  absl::StatusOr<Account> AddCertificate(const NewCertificate& c) override;
  absl::StatusOr<std::optional<CertificateOwner>> FindByCertificate(
      const std::string& fingerprint_sha256) override;
  absl::StatusOr<std::optional<std::vector<CertificateCredential>>> ListCertificates(
      const std::string& account_id) override;
  absl::StatusOr<std::optional<std::string>> FindAccountIdByMst(const std::string& mst) override;
  absl::StatusOr<std::optional<std::string>> FindAccountIdByAgency(
      const std::string& unit_code, const std::string& official_cccd) override;

 private:
  absl::StatusOr<std::optional<Account>> Load(pqxx::work& tx, const std::string& where,
                                              const std::string& param);
  absl::Status LoadBusiness(pqxx::work& tx, Account* a);
  absl::Status LoadAgency(pqxx::work& tx, Account* a);
  std::string Index(const std::string& kind, const std::string& value) const;
  absl::StatusOr<std::string> Seal(const std::string& account_id, const std::string& column,
                                   const std::string& value) const;  // "" stays ""
  absl::Status InsertCitizen(pqxx::work& tx, const std::string& account_id,
                             const CitizenIdentity& id);
  absl::Status InsertBusiness(pqxx::work& tx, const std::string& account_id,
                              const BusinessIdentity& b);
  absl::Status InsertAgency(pqxx::work& tx, const std::string& account_id,
                            const AgencyIdentity& g);
  absl::StatusOr<Account> CreateCertificateAccountOnce(const NewCertificateAccount& c,
                                                       const std::string& account_id,
                                                       bool last_pass);
  absl::StatusOr<Account> AddCertificateOnce(const NewCertificate& c);

  pg::Pool* pool_;
  const crypto::FieldCipher* cipher_;
  std::string index_key_;
  crypto::Random* random_;
};

}  // namespace dvc::accounts

// PgAccountStore + AccountsDomain against a real PostgreSQL (DATABASE_URL).
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "absl/strings/match.h"
#include "libs/crypto/aead.h"
#include "libs/crypto/random.h"
#include "libs/pg/migrate.h"
#include "libs/pg/pool.h"
#include "libs/pg/testing/test_database.h"
#include "libs/status/errors.h"
#include "protos/dvc/events/v1/account_events.pb.h"
#include "services/accounts/adapters/pg_account_store.h"
#include "services/accounts/domain/accounts.h"
#include "services/accounts/migrations.h"

namespace dvc::accounts {
namespace {

// Cheap Argon2id parameters: these tests are about persistence, not hashing cost.
constexpr crypto::Argon2Params kFast{.m_kib = 1024, .t = 1, .p = 1};

class PgAccountStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = pg::testing::TestDatabase::Create("accounts");
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    pool_ = std::make_unique<pg::Pool>(pg::PoolOptions{.url = db_->url(), .size = 8});
    ASSERT_TRUE(pg::Migrate(*pool_, migrations::Files()).ok());
    auto c = crypto::FieldCipher::Create("k1", std::string(32, 'k'));
    ASSERT_TRUE(c.ok());
    cipher_ = std::make_unique<crypto::FieldCipher>(std::move(*c));
    store_ = std::make_unique<PgAccountStore>(pool_.get(), cipher_.get(), "index-key", &random_);
    domain_ = std::make_unique<AccountsDomain>(store_.get(), &random_, kFast);
  }

  NewCitizen Citizen(const std::string& request_id, const std::string& cccd) {
    NewCitizen c;
    c.request_id = request_id;
    c.identity = {cccd, "", "Nguyễn Văn An", "1999-05-01", "MALE", "0912345678", "an@example.vn"};
    c.ial = 2;
    c.verification_source = "TELCO";
    c.registration_method = "MOBILE";
    c.password = "Quoc-Gia@2026x";
    c.consent_version = "2024-01";
    return c;
  }

  int64_t Count(const std::string& sql) {
    int64_t n = -1;
    EXPECT_TRUE(pool_->WithTransaction([&](pqxx::work& tx) {
      n = tx.exec(sql)[0][0].as<int64_t>();
      return absl::OkStatus();
    }).ok());
    return n;
  }

  crypto::OsRandom random_;
  std::unique_ptr<pg::testing::TestDatabase> db_;
  std::unique_ptr<pg::Pool> pool_;
  std::unique_ptr<crypto::FieldCipher> cipher_;
  std::unique_ptr<PgAccountStore> store_;
  std::unique_ptr<AccountsDomain> domain_;
};

TEST_F(PgAccountStoreTest, CreatesAccountWithEventsInOneTransaction) {
  auto a = domain_->CreateCitizen(Citizen("flow-1", "001099012345"));
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->ial, 2);
  EXPECT_TRUE(a->has_password);
  EXPECT_EQ(a->citizen.full_name, "Nguyễn Văn An");
  EXPECT_EQ(Count("SELECT count(*) FROM outbox"), 2);
  EXPECT_EQ(Count("SELECT count(*) FROM consents WHERE version = '2024-01'"), 1);
  // The events are AccountCreated then CredentialChanged, keyed by the account id.
  pool_->WithTransaction([&](pqxx::work& tx) {
    pqxx::result r = tx.exec("SELECT event_key, payload FROM outbox ORDER BY id");
    events::v1::AccountEvent e;
    pqxx::binarystring b(r[0][1]);
    EXPECT_TRUE(e.ParseFromString(b.str()));
    EXPECT_EQ(r[0][0].c_str(), a->account_id);
    EXPECT_TRUE(e.has_account_created());
    EXPECT_EQ(e.account_created().ial(), 2);
    return absl::OkStatus();
  });
}

TEST_F(PgAccountStoreTest, PersonalDataIsNotStoredInClear) {
  ASSERT_TRUE(domain_->CreateCitizen(Citizen("flow-1", "001099012345")).ok());
  int64_t n = Count(
      "SELECT count(*) FROM citizen_identities WHERE cccd_sealed LIKE '%001099012345%' "
      "OR phone_sealed LIKE '%0912345678%' OR full_name_sealed LIKE '%Nguy%' "
      "OR cccd_index LIKE '%001099012345%'");
  EXPECT_EQ(n, 0);
}

TEST_F(PgAccountStoreTest, SameRequestIdIsIdempotent) {
  auto a = domain_->CreateCitizen(Citizen("flow-1", "001099012345"));
  auto b = domain_->CreateCitizen(Citizen("flow-1", "001099012345"));
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(a->account_id, b->account_id);
  EXPECT_EQ(Count("SELECT count(*) FROM accounts"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM outbox"), 2);
}

TEST_F(PgAccountStoreTest, DuplicateCccdIsRefusedWithGuidance) {
  ASSERT_TRUE(domain_->CreateCitizen(Citizen("flow-1", "001099012345")).ok());
  auto b = domain_->CreateCitizen(Citizen("flow-2", "001099012345"));
  EXPECT_EQ(b.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(status::ReasonOf(b.status()), "ACCOUNT_EXISTS");
  EXPECT_EQ(Count("SELECT count(*) FROM accounts"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM outbox"), 2);
}

TEST_F(PgAccountStoreTest, ConcurrentRegistrationsOfOnePersonCreateOneAccount) {
  std::atomic<int> ok{0}, exists{0};
  std::vector<std::thread> ts;
  for (int i = 0; i < 6; ++i) {
    ts.emplace_back([&, i] {
      auto r = domain_->CreateCitizen(Citizen("flow-" + std::to_string(i), "001099012345"));
      if (r.ok()) ok++;
      if (status::ReasonOf(r.status()) == "ACCOUNT_EXISTS") exists++;
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(exists.load(), 5);
  EXPECT_EQ(Count("SELECT count(*) FROM accounts"), 1);
}

TEST_F(PgAccountStoreTest, FindAndVerifyPassword) {
  auto a = domain_->CreateCitizen(Citizen("flow-1", "001099012345"));
  ASSERT_TRUE(a.ok());
  auto f = domain_->Find("001099012345");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->account_id, a->account_id);
  EXPECT_EQ(status::ReasonOf(domain_->Find("079099012345").status()), "ACCOUNT_NOT_FOUND");
  auto id = domain_->LookupAccountId("001099012345");
  ASSERT_TRUE(id.ok() && id->has_value());
  EXPECT_EQ(**id, a->account_id);
  auto none = domain_->LookupAccountId("079099012345");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  EXPECT_EQ(domain_->LookupAccountId("12").status().code(), absl::StatusCode::kInvalidArgument);

  auto good = domain_->VerifyPassword("001099012345", "Quoc-Gia@2026x");
  ASSERT_TRUE(good.ok());
  EXPECT_TRUE(good->valid);
  EXPECT_EQ(good->account_id, a->account_id);
  EXPECT_EQ(good->ial, 2);
  EXPECT_EQ(good->phone, "0912345678");
  EXPECT_EQ(good->status, AccountStatus::kActive);
  auto bad = domain_->VerifyPassword("001099012345", "wrong");
  ASSERT_TRUE(bad.ok());
  EXPECT_FALSE(bad->valid);
  auto unknown = domain_->VerifyPassword("079099012345", "Quoc-Gia@2026x");
  ASSERT_TRUE(unknown.ok());
  EXPECT_FALSE(unknown->valid);
  auto garbage = domain_->VerifyPassword("not-a-number", "x");
  ASSERT_TRUE(garbage.ok());
  EXPECT_FALSE(garbage->valid);
}

TEST_F(PgAccountStoreTest, PasswordChangeEmitsEventAndOldPasswordStopsWorking) {
  auto a = domain_->CreateCitizen(Citizen("flow-1", "001099012345"));
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(domain_->SetPassword(a->account_id, "Moi-MatKhau@2027").ok());
  EXPECT_EQ(Count("SELECT count(*) FROM outbox"), 3);
  EXPECT_FALSE(domain_->VerifyPassword("001099012345", "Quoc-Gia@2026x")->valid);
  EXPECT_TRUE(domain_->VerifyPassword("001099012345", "Moi-MatKhau@2027")->valid);
  EXPECT_EQ(status::ReasonOf(domain_->SetPassword("00000000-0000-4000-8000-000000000000", "x")),
            "ACCOUNT_NOT_FOUND");
}

TEST_F(PgAccountStoreTest, OutdatedHashesAreUpgradedOnLoginWithoutAnEvent) {
  AccountsDomain weak(store_.get(), &random_, crypto::Argon2Params{.m_kib = 512, .t = 1, .p = 1});
  auto a = weak.CreateCitizen(Citizen("flow-1", "001099012345"));
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(domain_->VerifyPassword("001099012345", "Quoc-Gia@2026x")->valid);
  EXPECT_EQ(Count("SELECT count(*) FROM credentials WHERE secret_hash LIKE '%m=1024,%'"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM outbox"), 2);
}

TEST_F(PgAccountStoreTest, ARehashNeverUndoesAConcurrentPasswordChange) {
  auto a = domain_->CreateCitizen(Citizen("flow-1", "001099012345"));
  ASSERT_TRUE(a.ok());
  auto cred = store_->FindCredential("001099012345");
  ASSERT_TRUE(cred.ok() && cred->has_value());
  const std::string old_hash = (*cred)->password_hash;
  // The user changes the password while a login is upgrading the old hash.
  ASSERT_TRUE(domain_->SetPassword(a->account_id, "Moi-MatKhau@2027").ok());
  ASSERT_TRUE(store_->SetPasswordHash(a->account_id, "$argon2id$stale", "REHASHED", old_hash).ok());
  EXPECT_TRUE(domain_->VerifyPassword("001099012345", "Moi-MatKhau@2027")->valid);
}

TEST_F(PgAccountStoreTest, CredentialLookupOpensNoSealedField) {
  ASSERT_TRUE(domain_->CreateCitizen(Citizen("flow-1", "001099012345")).ok());
  auto cred = store_->FindCredential("001099012345");
  ASSERT_TRUE(cred.ok() && cred->has_value());
  EXPECT_TRUE(absl::StartsWith((*cred)->password_hash, "$argon2id$"));
  auto none = store_->FindCredential("079099012345");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST_F(PgAccountStoreTest, BadIdentityIsRefusedWithTheField) {
  auto c = Citizen("flow-1", "00109901234");
  auto r = domain_->CreateCitizen(c);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status::GetErrorInfo(r.status())->field, "identity.cccd");
  c = Citizen("flow-1", "001099012345");
  c.identity.date_of_birth = "1985-05-01";
  EXPECT_EQ(status::ReasonOf(domain_->CreateCitizen(c).status()), "CCCD_BIRTH_YEAR_MISMATCH");
  EXPECT_EQ(Count("SELECT count(*) FROM accounts"), 0);
}

}  // namespace
}  // namespace dvc::accounts

// PgAccountStore + AccountsDomain against a real PostgreSQL (DATABASE_URL): password citizens,
// and IAL3 certificate accounts (businesses, agency officials, citizens) with their events.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "absl/strings/match.h"
#include "libs/crypto/aead.h"
#include "libs/crypto/encoding.h"
#include "libs/crypto/hmac.h"
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

  static std::string Fingerprint(const std::string& name) {
    return crypto::HexEncode(crypto::Sha256(name));
  }
  static CertificateCredential Cert(const std::string& name, const std::string& method = "USB") {
    CertificateCredential c;
    c.fingerprint_sha256 = Fingerprint(name);
    c.method = method;
    c.issuer_cn = "VNPT Certification Authority (TEST)";
    c.serial_hex = "5a0e1f";
    c.not_after = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now() + absl::Hours(24 * 365)));
    if (method == "SIM") c.subscriber = "84912345678";
    if (method == "SMARTCA") c.subscriber = "smartca-user-01";
    return c;
  }
  static NewCertificateAccount Business(const std::string& request_id, const std::string& mst,
                                        const std::string& cert) {
    NewCertificateAccount c;
    c.request_id = request_id;
    c.subject_kind = SubjectKind::kBusiness;
    c.business = {mst, "Công ty Cổ phần Phần mềm ABC", "ketoan@abc.com.vn", "0912000111",
                  "Số 1 Tràng Tiền, Hà Nội", "025199009534"};
    c.certificate = Cert(cert);
    c.consent_version = "2024-01";
    return c;
  }
  static NewCertificateAccount Agency(const std::string& request_id, const std::string& unit,
                                      const std::string& cccd, const std::string& cert) {
    NewCertificateAccount c;
    c.request_id = request_id;
    c.subject_kind = SubjectKind::kAgency;
    c.agency = {unit, "Bộ Tư pháp", cccd, "Trần Thị Bình", "binh@moj.gov.vn", ""};
    c.certificate = Cert(cert, "SIM");
    c.consent_version = "2024-01";
    return c;
  }
  static NewCertificateAccount CitizenByCert(const std::string& request_id,
                                             const std::string& cccd, const std::string& cert) {
    NewCertificateAccount c;
    c.request_id = request_id;
    c.subject_kind = SubjectKind::kCitizen;
    c.citizen.cccd = cccd;
    c.citizen.full_name = "Lê Văn Cường";
    c.certificate = Cert(cert, "SMARTCA");
    return c;
  }
  NewCertificate AddCert(const std::string& request_id, const std::string& account_id,
                         const std::string& cert, const std::string& identity,
                         const std::string& method = "SIM") {
    NewCertificate c;
    c.request_id = request_id;
    c.account_id = account_id;
    c.certificate = Cert(cert, method);
    c.identity_number = identity;
    return c;
  }

  // Every table a creation writes: nothing may be left behind by a refused request.
  std::string RowCounts() {
    std::string out;
    for (const char* t : {"accounts", "citizen_identities", "business_identities",
                          "agency_identities", "certificate_credentials", "credentials",
                          "consents", "audit_events", "outbox"}) {
      out += std::string(t) + "=" + std::to_string(Count(std::string("SELECT count(*) FROM ") + t)) +
             " ";
    }
    return out;
  }

  // The outbox events in order, decoded.
  std::vector<events::v1::AccountEvent> Events(std::vector<std::string>* types = nullptr) {
    std::vector<events::v1::AccountEvent> out;
    EXPECT_TRUE(pool_->WithTransaction([&](pqxx::work& tx) {
      pqxx::result r = tx.exec("SELECT payload, headers->>'event_type', event_key, "
                               "event_id::text FROM outbox ORDER BY id");
      for (const auto& row : r) {
        events::v1::AccountEvent e;
        pqxx::binarystring b(row[0]);
        EXPECT_TRUE(e.ParseFromString(b.str()));
        EXPECT_EQ(row[2].c_str(), e.account_id());
        EXPECT_EQ(row[3].c_str(), e.event_id());
        if (types != nullptr) types->push_back(row[1].c_str());
        out.push_back(e);
      }
      return absl::OkStatus();
    }).ok());
    return out;
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
  ASSERT_TRUE(pool_->WithTransaction([&](pqxx::work& tx) {
    pqxx::result r = tx.exec("SELECT event_key, payload FROM outbox ORDER BY id");
    events::v1::AccountEvent e;
    pqxx::binarystring b(r[0][1]);
    EXPECT_TRUE(e.ParseFromString(b.str()));
    EXPECT_EQ(r[0][0].c_str(), a->account_id);
    EXPECT_TRUE(e.has_account_created());
    EXPECT_EQ(e.account_created().ial(), 2);
    return absl::OkStatus();
  }).ok());
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

// ---- IAL3 certificate accounts ----

TEST_F(PgAccountStoreTest, CreatesBusinessAccountWithEventsInOneTransaction) {
  auto a = domain_->CreateCertificateAccount(Business("flow-b", "0100109106", "business-usb"));
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->subject_kind, SubjectKind::kBusiness);
  EXPECT_EQ(a->ial, 3);
  EXPECT_EQ(a->verification_source, "CERTIFICATE");
  EXPECT_EQ(a->registration_method, "USB");
  EXPECT_FALSE(a->has_password);
  EXPECT_EQ(a->business.mst, "0100109106");
  EXPECT_EQ(a->business.name, "Công ty Cổ phần Phần mềm ABC");
  EXPECT_EQ(a->business.email, "ketoan@abc.com.vn");
  EXPECT_EQ(a->business.phone, "0912000111");
  EXPECT_EQ(a->business.address, "Số 1 Tràng Tiền, Hà Nội");
  EXPECT_EQ(a->business.representative_cccd, "025199009534");
  EXPECT_TRUE(a->citizen.full_name.empty());
  EXPECT_EQ(RowCounts(),
            "accounts=1 citizen_identities=0 business_identities=1 agency_identities=0 "
            "certificate_credentials=1 credentials=0 consents=1 audit_events=2 outbox=2 ");
  std::vector<std::string> types;
  auto events = Events(&types);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(types, (std::vector<std::string>{"AccountCreated", "CredentialChanged"}));
  ASSERT_TRUE(events[0].has_account_created());
  EXPECT_EQ(events[0].account_id(), a->account_id);
  EXPECT_EQ(events[0].account_created().subject_kind(), events::v1::SUBJECT_KIND_BUSINESS);
  EXPECT_EQ(events[0].account_created().ial(), 3);
  EXPECT_EQ(events[0].account_created().verification_source(), "CERTIFICATE");
  EXPECT_EQ(events[0].account_created().registration_method(), "USB");
  ASSERT_TRUE(events[1].has_credential_changed());
  EXPECT_EQ(events[1].credential_changed().credential_type(), "CERTIFICATE");
  EXPECT_EQ(events[1].credential_changed().change(), "SET");
  EXPECT_EQ(events[1].credential_changed().method(), "USB");
  // Nothing personal in clear (the MST is found through its blind index only).
  EXPECT_EQ(Count("SELECT count(*) FROM business_identities WHERE mst_sealed LIKE '%0100109106%' "
                  "OR mst_index LIKE '%0100109106%' OR email_sealed LIKE '%abc.com%' "
                  "OR name_sealed LIKE '%ABC%' OR representative_cccd_sealed LIKE '%0251%'"),
            0);
  EXPECT_EQ(Count("SELECT count(*) FROM audit_events WHERE detail LIKE '%0100109106%'"), 0);
  // A certificate account has no password: password login simply fails.
  auto lookup = domain_->LookupAccountId(AccountKey{"", "0100109106", "", ""});
  ASSERT_TRUE(lookup.ok()) << lookup.status();
  EXPECT_EQ(lookup->value_or(""), a->account_id);
  auto branch = domain_->LookupAccountId(AccountKey{"", "0100686209-199", "", ""});
  ASSERT_TRUE(branch.ok());
  EXPECT_FALSE(branch->has_value());
}

TEST_F(PgAccountStoreTest, CreatesAgencyAndCitizenAccountsByCertificate) {
  auto g = domain_->CreateCertificateAccount(
      Agency("flow-g", "000.00.17.G22", "001099012345", "agency-official-sim"));
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->agency.unit_code, "000.00.17.G22");
  EXPECT_EQ(g->agency.organization_name, "Bộ Tư pháp");
  EXPECT_EQ(g->agency.official_cccd, "001099012345");
  EXPECT_EQ(g->agency.official_full_name, "Trần Thị Bình");
  EXPECT_EQ(g->registration_method, "SIM");
  auto c = domain_->CreateCertificateAccount(
      CitizenByCert("flow-c", "079199001234", "citizen-smartca"));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->citizen.cccd, "079199001234");
  EXPECT_EQ(c->citizen.full_name, "Lê Văn Cường");
  EXPECT_TRUE(c->citizen.date_of_birth.empty());
  EXPECT_TRUE(c->citizen.phone.empty());
  // Read back through Get: the identities open with their own associated data.
  auto g2 = domain_->Get(g->account_id);
  ASSERT_TRUE(g2.ok()) << g2.status();
  EXPECT_EQ(g2->subject_kind, SubjectKind::kAgency);
  EXPECT_EQ(g2->agency.official_cccd, "001099012345");
  EXPECT_EQ(g2->agency.email, "binh@moj.gov.vn");
  // The agency official's CCCD is not a citizen account; the citizen's is.
  EXPECT_FALSE(domain_->LookupAccountId("001099012345")->has_value());
  EXPECT_EQ(domain_->LookupAccountId("079199001234")->value_or(""), c->account_id);
  EXPECT_EQ(domain_->LookupAccountId(AccountKey{"", "", "000.00.17.G22", "001099012345"})
                ->value_or(""),
            g->account_id);
  EXPECT_FALSE(domain_->LookupAccountId(AccountKey{"", "", "000.00.00.G22", "001099012345"})
                   ->has_value());
  // No password: VerifyPassword answers valid=false.
  auto v = domain_->VerifyPassword("079199001234", "anything");
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->valid);
  // The certificates, with their subscribers opened.
  auto list = domain_->ListCertificates(g->account_id);
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].fingerprint_sha256, Fingerprint("agency-official-sim"));
  EXPECT_EQ((*list)[0].method, "SIM");
  EXPECT_EQ((*list)[0].subscriber, "84912345678");
  EXPECT_EQ((*list)[0].not_after, Cert("x").not_after);
  EXPECT_EQ(Count("SELECT count(*) FROM certificate_credentials "
                  "WHERE subscriber_sealed LIKE '%84912345678%'"),
            0);
  auto owner = domain_->FindByCertificate(Fingerprint("citizen-smartca"));
  ASSERT_TRUE(owner.ok() && owner->has_value());
  EXPECT_EQ((*owner)->account_id, c->account_id);
  EXPECT_EQ((*owner)->ial, 3);
  EXPECT_EQ((*owner)->subject_kind, SubjectKind::kCitizen);
  EXPECT_EQ((*owner)->method, "SMARTCA");
  EXPECT_EQ((*owner)->status, AccountStatus::kActive);
  auto none = domain_->FindByCertificate(Fingerprint("never-registered"));
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST_F(PgAccountStoreTest, CertificateAccountRetryIsIdempotent) {
  auto a = domain_->CreateCertificateAccount(Business("flow-b", "0100109106", "business-usb"));
  ASSERT_TRUE(a.ok());
  const std::string before = RowCounts();
  auto b = domain_->CreateCertificateAccount(Business("flow-b", "0100109106", "business-usb"));
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->account_id, a->account_id);
  EXPECT_EQ(b->business.mst, "0100109106");
  EXPECT_EQ(RowCounts(), before);
}

TEST_F(PgAccountStoreTest, EveryDuplicateIsRefusedAndNothingIsCreated) {
  ASSERT_TRUE(domain_->CreateCitizen(Citizen("flow-p", "001099012345")).ok());
  ASSERT_TRUE(domain_->CreateCertificateAccount(Business("flow-b", "0100109106", "b1")).ok());
  ASSERT_TRUE(domain_->CreateCertificateAccount(
                         Agency("flow-g", "000.00.17.G22", "025199009534", "g1"))
                  .ok());
  const std::string before = RowCounts();
  struct Case {
    NewCertificateAccount req;
    std::string reason, field;
  };
  std::vector<Case> cases = {
      // A citizen who registered with a password cannot open a second account by certificate.
      {CitizenByCert("r1", "001099012345", "c-new"), "ACCOUNT_EXISTS", "id_number"},
      {Business("r2", "0100109106", "b-new"), "BUSINESS_ACCOUNT_EXISTS", "business.mst"},
      {Agency("r3", "000.00.17.G22", "025199009534", "g-new"), "AGENCY_ACCOUNT_EXISTS",
       "agency.official_cccd"},
      // A new subject presenting a certificate registered to someone else.
      {Business("r4", "0104359717", "b1"), "CERTIFICATE_ALREADY_REGISTERED", "certificate"},
      {CitizenByCert("r5", "079199001234", "g1"), "CERTIFICATE_ALREADY_REGISTERED", "certificate"},
  };
  for (const auto& k : cases) {
    auto r = domain_->CreateCertificateAccount(k.req);
    ASSERT_FALSE(r.ok()) << k.reason;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kAlreadyExists) << k.reason;
    EXPECT_EQ(status::ReasonOf(r.status()), k.reason);
    auto info = status::GetErrorInfo(r.status());
    EXPECT_EQ(info->field, k.field) << k.reason;
    if (k.reason != "CERTIFICATE_ALREADY_REGISTERED") {
      // The seed's guidance: how to get back in, where to go if it was not you.
      EXPECT_TRUE(absl::StrContains(info->message_vi, "Quên mật khẩu")) << info->message_vi;
      EXPECT_TRUE(absl::StrContains(info->message_vi, "phản ánh, kiến nghị"));
      EXPECT_FALSE(info->metadata.at("subject_kind").empty());
    }
  }
  EXPECT_EQ(RowCounts(), before);
  // Other units / other officials / branches are other subjects.
  EXPECT_TRUE(domain_->CreateCertificateAccount(
                         Agency("r6", "000.00.00.G22", "025199009534", "g2"))
                  .ok());
  EXPECT_TRUE(domain_->CreateCertificateAccount(
                         Agency("r7", "000.00.17.G22", "079199001234", "g3"))
                  .ok());
  EXPECT_TRUE(
      domain_->CreateCertificateAccount(Business("r8", "0100686209-199", "b-branch")).ok());
}

TEST_F(PgAccountStoreTest, MalformedCertificateAccountsCreateNothing) {
  auto no_email = Business("flow-1", "0100109106", "b1");
  no_email.business.email.clear();
  auto bad_mst = Business("flow-2", "0100109107", "b2");
  auto bad_unit = Agency("flow-3", "000.00.17.22", "001099012345", "g1");
  auto bad_cccd = CitizenByCert("flow-4", "001099O12345", "c1");
  std::vector<std::pair<NewCertificateAccount, std::string>> cases = {
      {no_email, "EMAIL_REQUIRED"},
      {bad_mst, "MST_CHECKSUM"},
      {bad_unit, "UNIT_CODE_MALFORMED"},
      {bad_cccd, "CCCD_MALFORMED"}};
  for (const auto& [req, reason] : cases) {
    auto r = domain_->CreateCertificateAccount(req);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << reason;
    EXPECT_EQ(status::ReasonOf(r.status()), reason);
  }
  EXPECT_EQ(RowCounts(),
            "accounts=0 citizen_identities=0 business_identities=0 agency_identities=0 "
            "certificate_credentials=0 credentials=0 consents=0 audit_events=0 outbox=0 ");
}

TEST_F(PgAccountStoreTest, AddCertificateRaisesTheLevelWithEvents) {
  auto a = domain_->CreateCitizen(Citizen("flow-1", "001099012345"));
  ASSERT_TRUE(a.ok());
  ASSERT_EQ(a->ial, 2);
  auto r = domain_->AddCertificate(AddCert("add-1", a->account_id, "citizen-sim", "001099012345"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->ial, 3);
  EXPECT_TRUE(r->has_password);
  EXPECT_EQ(r->registration_method, "MOBILE");  // how it was registered does not change
  std::vector<std::string> types;
  auto events = Events(&types);
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(types, (std::vector<std::string>{"AccountCreated", "CredentialChanged",
                                             "CredentialChanged", "AssuranceLevelChanged"}));
  EXPECT_EQ(events[2].credential_changed().credential_type(), "CERTIFICATE");
  EXPECT_EQ(events[2].credential_changed().change(), "SET");
  EXPECT_EQ(events[2].credential_changed().method(), "SIM");
  ASSERT_TRUE(events[3].has_assurance_level_changed());
  EXPECT_EQ(events[3].account_id(), a->account_id);
  EXPECT_EQ(events[3].assurance_level_changed().from_ial(), 2);
  EXPECT_EQ(events[3].assurance_level_changed().to_ial(), 3);
  EXPECT_EQ(events[3].assurance_level_changed().reason(), "CERTIFICATE_ADDED");
  EXPECT_EQ(Count("SELECT count(*) FROM audit_events WHERE event = 'IAL_RAISED' "
                  "AND detail = 'from=2 to=3 reason=CERTIFICATE_ADDED'"),
            1);
  EXPECT_EQ(Count("SELECT count(*) FROM audit_events WHERE event = 'CERTIFICATE_ADDED'"), 1);
  EXPECT_EQ(domain_->Get(a->account_id)->ial, 3);

  // Retry of the same request: same answer, nothing new.
  const std::string before = RowCounts();
  auto again = domain_->AddCertificate(AddCert("add-1", a->account_id, "citizen-sim",
                                               "001099012345"));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->ial, 3);
  // The same certificate under another request id: a no-op.
  ASSERT_TRUE(domain_->AddCertificate(AddCert("add-2", a->account_id, "citizen-sim",
                                              "001099012345"))
                  .ok());
  EXPECT_EQ(RowCounts(), before);
  // The request id of another change.
  EXPECT_EQ(status::ReasonOf(domain_->AddCertificate(AddCert("add-1", a->account_id,
                                                             "citizen-usb", "001099012345"))
                                 .status()),
            "REQUEST_ID_REUSED");
  // A second certificate on an IAL3 account: a credential event, no level change.
  ASSERT_TRUE(domain_->AddCertificate(AddCert("add-3", a->account_id, "citizen-usb",
                                              "001099012345", "USB"))
                  .ok());
  auto after = Events();
  ASSERT_EQ(after.size(), 5u);
  EXPECT_TRUE(after[4].has_credential_changed());
  auto list = domain_->ListCertificates(a->account_id);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].method, "SIM");
  EXPECT_EQ((*list)[1].method, "USB");
}

TEST_F(PgAccountStoreTest, AddCertificateRefusals) {
  auto a = domain_->CreateCitizen(Citizen("flow-1", "001099012345"));
  auto b = domain_->CreateCertificateAccount(Business("flow-b", "0100109106", "business-usb"));
  ASSERT_TRUE(a.ok() && b.ok());
  const std::string before = RowCounts();
  // Someone else's identity number: the certificate names another person.
  auto mismatch = domain_->AddCertificate(AddCert("x1", a->account_id, "c2", "079199001234"));
  EXPECT_EQ(mismatch.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(status::ReasonOf(mismatch.status()), "CERTIFICATE_IDENTITY_MISMATCH");
  // The business's certificate cannot be added to the citizen (even with the right number).
  auto taken =
      domain_->AddCertificate(AddCert("x2", a->account_id, "business-usb", "001099012345", "USB"));
  EXPECT_EQ(taken.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(status::ReasonOf(taken.status()), "CERTIFICATE_ALREADY_REGISTERED");
  EXPECT_EQ(status::ReasonOf(domain_->AddCertificate(AddCert(
                                 "x3", "00000000-0000-4000-8000-000000000000", "c3", "1"))
                                 .status()),
            "ACCOUNT_NOT_FOUND");
  EXPECT_EQ(RowCounts(), before);
  // A locked account takes no new credential.
  ASSERT_TRUE(pool_->WithTransaction([&](pqxx::work& tx) {
    tx.exec_params("UPDATE accounts SET status = 2 WHERE account_id = $1::uuid", a->account_id);
    return absl::OkStatus();
  }).ok());
  auto locked = domain_->AddCertificate(AddCert("x4", a->account_id, "c4", "001099012345"));
  EXPECT_EQ(locked.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(status::ReasonOf(locked.status()), "ACCOUNT_NOT_ACTIVE");
  EXPECT_EQ(RowCounts(), before);
}

TEST_F(PgAccountStoreTest, RemovedCertificatesAreNotFoundAndStayBound) {
  auto a = domain_->CreateCitizen(Citizen("flow-1", "001099012345"));
  auto other = domain_->CreateCitizen(Citizen("flow-2", "079199001234"));
  ASSERT_TRUE(a.ok() && other.ok());
  ASSERT_TRUE(
      domain_->AddCertificate(AddCert("add-1", a->account_id, "citizen-usb", "001099012345"))
          .ok());
  ASSERT_TRUE(pool_->WithTransaction([&](pqxx::work& tx) {
    tx.exec("UPDATE certificate_credentials SET removed_at = now()");
    return absl::OkStatus();
  }).ok());
  auto gone = domain_->FindByCertificate(Fingerprint("citizen-usb"));
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value());
  EXPECT_TRUE(domain_->ListCertificates(a->account_id)->empty());
  // Never moves to another account…
  EXPECT_EQ(status::ReasonOf(domain_->AddCertificate(AddCert("add-2", other->account_id,
                                                             "citizen-usb", "079199001234"))
                                 .status()),
            "CERTIFICATE_ALREADY_REGISTERED");
  // …but may be bound again to its own.
  ASSERT_TRUE(
      domain_->AddCertificate(AddCert("add-3", a->account_id, "citizen-usb", "001099012345"))
          .ok());
  auto back = domain_->FindByCertificate(Fingerprint("citizen-usb"));
  ASSERT_TRUE(back.ok() && back->has_value());
  EXPECT_EQ((*back)->account_id, a->account_id);
}

TEST_F(PgAccountStoreTest, ConcurrentBusinessRegistrationsCreateOneAccount) {
  std::atomic<int> ok{0}, exists{0};
  std::vector<std::thread> ts;
  for (int i = 0; i < 6; ++i) {
    ts.emplace_back([&, i] {
      auto r = domain_->CreateCertificateAccount(
          Business("flow-" + std::to_string(i), "0100109106", "cert-" + std::to_string(i)));
      if (r.ok()) ok++;
      if (status::ReasonOf(r.status()) == "BUSINESS_ACCOUNT_EXISTS") exists++;
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(exists.load(), 5);
  EXPECT_EQ(Count("SELECT count(*) FROM accounts"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM certificate_credentials"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM outbox"), 2);
}

TEST_F(PgAccountStoreTest, ConcurrentUseOfOneCertificateBindsItOnce) {
  // Different businesses racing with the same certificate, and retries of one request.
  std::atomic<int> ok{0}, taken{0};
  std::vector<std::thread> ts;
  const char* msts[] = {"0100109106", "0104359717", "0319303270", "0100686209"};
  for (int i = 0; i < 4; ++i) {
    ts.emplace_back([&, i] {
      auto r = domain_->CreateCertificateAccount(
          Business("flow-" + std::to_string(i), msts[i], "shared-cert"));
      if (r.ok()) ok++;
      if (status::ReasonOf(r.status()) == "CERTIFICATE_ALREADY_REGISTERED") taken++;
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(taken.load(), 3);
  EXPECT_EQ(Count("SELECT count(*) FROM accounts"), 1);

  std::atomic<int> same{0};
  std::vector<std::string> ids(4);
  ts.clear();
  for (int i = 0; i < 4; ++i) {
    ts.emplace_back([&, i] {
      auto r = domain_->CreateCertificateAccount(Business("retry", "0100686209-001", "retry-cert"));
      if (r.ok()) {
        same++;
        ids[i] = r->account_id;
      } else {
        ADD_FAILURE() << r.status();
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(same.load(), 4);
  for (const auto& id : ids) EXPECT_EQ(id, ids[0]);
  EXPECT_EQ(Count("SELECT count(*) FROM accounts"), 2);
}

}  // namespace
}  // namespace dvc::accounts

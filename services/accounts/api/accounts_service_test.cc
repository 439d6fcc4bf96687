// Service test: the real gRPC server in-process (port 0) over real PostgreSQL (DATABASE_URL),
// driven through the generated stub: exact status codes, reasons and fields, and the rows and
// outbox events each call leaves behind.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "libs/crypto/aead.h"
#include "libs/crypto/encoding.h"
#include "libs/crypto/hmac.h"
#include "libs/crypto/random.h"
#include "libs/metrics/metrics.h"
#include "libs/pg/migrate.h"
#include "libs/pg/pool.h"
#include "libs/pg/testing/test_database.h"
#include "libs/server/call.h"
#include "libs/server/grpc_server.h"
#include "libs/status/errors.h"
#include "libs/status/grpc_status.h"
#include "protos/dvc/accounts/v1/accounts.grpc.pb.h"
#include "protos/dvc/events/v1/account_events.pb.h"
#include "services/accounts/adapters/pg_account_store.h"
#include "services/accounts/api/accounts_grpc.h"
#include "services/accounts/domain/accounts.h"
#include "services/accounts/migrations.h"

namespace dvc::accounts {
namespace {

constexpr crypto::Argon2Params kFast{.m_kib = 1024, .t = 1, .p = 1};

struct Outcome {
  grpc::StatusCode code;
  std::string reason;
  std::string field;
};

Outcome Of(const grpc::Status& g) {
  absl::Status s = status::FromGrpcStatus(g);
  Outcome o{g.error_code(), status::ReasonOf(s), ""};
  if (auto info = status::GetErrorInfo(s)) o.field = info->field;
  return o;
}

std::string Fingerprint(const std::string& name) {
  return crypto::HexEncode(crypto::Sha256(name));
}

void SetCertificate(v1::CertificateCredential* c, const std::string& name,
                    const std::string& method) {
  c->set_fingerprint_sha256(Fingerprint(name));
  c->set_method(method);
  c->set_issuer_cn("CA phục vụ các cơ quan Nhà nước G2 (TEST)");
  c->set_serial_hex("7F01");
  c->mutable_not_after()->set_seconds(absl::ToUnixSeconds(absl::Now() + absl::Hours(24 * 300)));
  if (method == "SIM") c->set_subscriber("+84 912 345 678");
}

v1::CreateCertificateAccountRequest BusinessRequest(const std::string& rid, const std::string& mst,
                                                    const std::string& cert) {
  v1::CreateCertificateAccountRequest req;
  req.set_request_id(rid);
  req.set_subject_kind(v1::SUBJECT_KIND_BUSINESS);
  auto* b = req.mutable_business();
  b->set_mst(mst);
  b->set_name("Công ty TNHH Thương mại Hà Nội");
  b->set_email("info@hanoi-trade.vn");
  b->set_address("12 Lý Thái Tổ, Hoàn Kiếm, Hà Nội");
  SetCertificate(req.mutable_certificate(), cert, "USB");
  req.set_consent_version("2024-01");
  return req;
}

v1::CreateCertificateAccountRequest AgencyRequest(const std::string& rid, const std::string& unit,
                                                  const std::string& cccd,
                                                  const std::string& cert) {
  v1::CreateCertificateAccountRequest req;
  req.set_request_id(rid);
  req.set_subject_kind(v1::SUBJECT_KIND_AGENCY);
  auto* g = req.mutable_agency();
  g->set_unit_code(unit);
  g->set_organization_name("Văn phòng Chính phủ");
  g->set_official_cccd(cccd);
  g->set_official_full_name("Phạm Minh Đức");
  SetCertificate(req.mutable_certificate(), cert, "SIM");
  return req;
}

v1::CreateCertificateAccountRequest CitizenRequest(const std::string& rid, const std::string& cccd,
                                                   const std::string& cert) {
  v1::CreateCertificateAccountRequest req;
  req.set_request_id(rid);
  req.set_subject_kind(v1::SUBJECT_KIND_CITIZEN);
  req.mutable_citizen()->set_cccd(cccd);
  req.mutable_citizen()->set_full_name("Nguyễn Thị Hoa");
  SetCertificate(req.mutable_certificate(), cert, "USB");
  return req;
}

class AccountsServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = pg::testing::TestDatabase::Create("accountssvc");
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    pool_ = std::make_unique<pg::Pool>(pg::PoolOptions{.url = db_->url(), .size = 8});
    ASSERT_TRUE(pg::Migrate(*pool_, migrations::Files()).ok());
    auto c = crypto::FieldCipher::Create("k1", std::string(32, 'k'));
    ASSERT_TRUE(c.ok());
    cipher_ = std::make_unique<crypto::FieldCipher>(std::move(*c));
    store_ = std::make_unique<PgAccountStore>(pool_.get(), cipher_.get(), "index-key", &random_);
    domain_ = std::make_unique<AccountsDomain>(store_.get(), &random_, kFast);
    api_ = std::make_unique<AccountsGrpc>(domain_.get());
    server_ = std::make_unique<server::GrpcServer>(
        server::Options{.service_name = "accounts", .host = "127.0.0.1", .metrics_port = -1},
        &registry_);
    server_->Register(api_.get());
    ASSERT_TRUE(server_->Start().ok());
    stub_ = v1::AccountsService::NewStub(
        server::Dial("127.0.0.1:" + std::to_string(server_->grpc_port())));
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
    server_.reset();
    api_.reset();
    domain_.reset();
    store_.reset();
    pool_.reset();
    db_.reset();
  }

  grpc::Status Create(const v1::CreateCertificateAccountRequest& req, v1::Account* out) {
    auto ctx = server::ClientContext(absl::Seconds(10));
    return stub_->CreateCertificateAccount(ctx.get(), req, out);
  }
  grpc::Status Add(const std::string& rid, const std::string& account_id, const std::string& cert,
                   const std::string& identity, v1::Account* out) {
    v1::AddCertificateRequest req;
    req.set_request_id(rid);
    req.set_account_id(account_id);
    SetCertificate(req.mutable_certificate(), cert, "SIM");
    req.set_identity_number(identity);
    auto ctx = server::ClientContext(absl::Seconds(10));
    return stub_->AddCertificate(ctx.get(), req, out);
  }
  v1::FindByCertificateResponse FindCert(const std::string& fingerprint) {
    v1::FindByCertificateRequest req;
    req.set_fingerprint_sha256(fingerprint);
    v1::FindByCertificateResponse resp;
    auto ctx = server::ClientContext(absl::Seconds(10));
    grpc::Status g = stub_->FindByCertificate(ctx.get(), req, &resp);
    EXPECT_TRUE(g.ok()) << g.error_message();
    return resp;
  }
  grpc::Status Lookup(const v1::FindAccountRequest& req, v1::LookupAccountIdResponse* out) {
    auto ctx = server::ClientContext(absl::Seconds(10));
    return stub_->LookupAccountId(ctx.get(), req, out);
  }
  std::string CreatePasswordCitizen(const std::string& cccd) {
    v1::CreateCitizenAccountRequest req;
    req.set_request_id("pw-" + cccd);
    auto* id = req.mutable_identity();
    id->set_cccd(cccd);
    id->set_full_name("Nguyễn Văn An");
    id->set_date_of_birth("1999-05-01");
    id->set_phone("0912345678");
    req.set_ial(2);
    req.set_verification_source("TELCO");
    req.set_registration_method("MOBILE");
    req.set_password("Quoc-Gia@2026x");
    v1::Account out;
    auto ctx = server::ClientContext(absl::Seconds(10));
    grpc::Status g = stub_->CreateCitizenAccount(ctx.get(), req, &out);
    EXPECT_TRUE(g.ok()) << g.error_message();
    return out.account_id();
  }

  int64_t Count(const std::string& sql) {
    int64_t n = -1;
    EXPECT_TRUE(pool_->WithTransaction([&](pqxx::work& tx) {
      n = tx.exec(sql)[0][0].as<int64_t>();
      return absl::OkStatus();
    }).ok());
    return n;
  }
  std::string RowCounts() {
    std::string out;
    for (const char* t : {"accounts", "citizen_identities", "business_identities",
                          "agency_identities", "certificate_credentials", "consents",
                          "audit_events", "outbox"}) {
      out += std::string(t) + "=" + std::to_string(Count(std::string("SELECT count(*) FROM ") + t)) +
             " ";
    }
    return out;
  }
  std::vector<events::v1::AccountEvent> Events() {
    std::vector<events::v1::AccountEvent> out;
    EXPECT_TRUE(pool_->WithTransaction([&](pqxx::work& tx) {
      for (const auto& row : tx.exec("SELECT payload FROM outbox ORDER BY id")) {
        events::v1::AccountEvent e;
        pqxx::binarystring b(row[0]);
        EXPECT_TRUE(e.ParseFromString(b.str()));
        out.push_back(e);
      }
      return absl::OkStatus();
    }).ok());
    return out;
  }

  crypto::OsRandom random_;
  metrics::Registry registry_;
  std::unique_ptr<pg::testing::TestDatabase> db_;
  std::unique_ptr<pg::Pool> pool_;
  std::unique_ptr<crypto::FieldCipher> cipher_;
  std::unique_ptr<PgAccountStore> store_;
  std::unique_ptr<AccountsDomain> domain_;
  std::unique_ptr<AccountsGrpc> api_;
  std::unique_ptr<server::GrpcServer> server_;
  std::unique_ptr<v1::AccountsService::Stub> stub_;
};

TEST_F(AccountsServiceTest, CreatesABusinessAccountAndFindsItByCertificate) {
  v1::Account a;
  grpc::Status g = Create(BusinessRequest("flow-1", "0319303270", "business-usb"), &a);
  ASSERT_TRUE(g.ok()) << g.error_message();
  EXPECT_EQ(a.subject_kind(), v1::SUBJECT_KIND_BUSINESS);
  EXPECT_EQ(a.ial(), 3);
  EXPECT_EQ(a.status(), v1::ACCOUNT_STATUS_ACTIVE);
  EXPECT_EQ(a.verification_source(), "CERTIFICATE");
  EXPECT_EQ(a.registration_method(), "USB");
  EXPECT_FALSE(a.has_password());
  EXPECT_FALSE(a.has_citizen());
  EXPECT_FALSE(a.has_agency());
  EXPECT_EQ(a.business().mst(), "0319303270");
  EXPECT_EQ(a.business().email(), "info@hanoi-trade.vn");

  // The idempotent retry answers the same account.
  v1::Account again;
  ASSERT_TRUE(Create(BusinessRequest("flow-1", "0319303270", "business-usb"), &again).ok());
  EXPECT_EQ(again.account_id(), a.account_id());
  EXPECT_EQ(Count("SELECT count(*) FROM accounts"), 1);

  // Certificate login: who holds it, and nothing personal.
  v1::FindByCertificateResponse f = FindCert(Fingerprint("business-usb"));
  EXPECT_TRUE(f.found());
  EXPECT_EQ(f.account_id(), a.account_id());
  EXPECT_EQ(f.status(), v1::ACCOUNT_STATUS_ACTIVE);
  EXPECT_EQ(f.ial(), 3);
  EXPECT_EQ(f.subject_kind(), v1::SUBJECT_KIND_BUSINESS);
  EXPECT_EQ(f.method(), "USB");
  // Upper-case hex finds it too; an unknown certificate is found=false, not an error.
  std::string upper = Fingerprint("business-usb");
  for (auto& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  EXPECT_TRUE(FindCert(upper).found());
  v1::FindByCertificateResponse none = FindCert(Fingerprint("unknown"));
  EXPECT_FALSE(none.found());
  EXPECT_TRUE(none.account_id().empty());
  v1::FindByCertificateRequest bad;
  bad.set_fingerprint_sha256("zz");
  v1::FindByCertificateResponse ignored;
  auto ctx = server::ClientContext(absl::Seconds(10));
  Outcome o = Of(stub_->FindByCertificate(ctx.get(), bad, &ignored));
  EXPECT_EQ(o.code, grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(o.reason, "CERTIFICATE_FINGERPRINT_MALFORMED");

  // The least-privilege duplicate check by MST.
  v1::FindAccountRequest by_mst;
  by_mst.set_mst("0319303270");
  v1::LookupAccountIdResponse found;
  ASSERT_TRUE(Lookup(by_mst, &found).ok());
  EXPECT_TRUE(found.found());
  EXPECT_EQ(found.account_id(), a.account_id());

  // GetAccount returns the business identity.
  v1::GetAccountRequest get;
  get.set_account_id(a.account_id());
  v1::Account got;
  auto gctx = server::ClientContext(absl::Seconds(10));
  ASSERT_TRUE(stub_->GetAccount(gctx.get(), get, &got).ok());
  EXPECT_EQ(got.business().name(), "Công ty TNHH Thương mại Hà Nội");
  EXPECT_EQ(got.business().address(), "12 Lý Thái Tổ, Hoàn Kiếm, Hà Nội");
}

TEST_F(AccountsServiceTest, RefusesBadRequestsWithTheFieldAndCreatesNothing) {
  struct Case {
    v1::CreateCertificateAccountRequest req;
    std::string reason, field;
  };
  std::vector<Case> cases;
  {
    auto r = BusinessRequest("r1", "0319303270", "c1");
    r.mutable_business()->clear_email();
    cases.push_back({r, "EMAIL_REQUIRED", "business.email"});
  }
  cases.push_back({BusinessRequest("r2", "0319303271", "c2"), "MST_CHECKSUM", "business.mst"});
  cases.push_back({BusinessRequest("r3", "03193032", "c3"), "MST_MALFORMED", "business.mst"});
  cases.push_back({AgencyRequest("r4", "000.00.00-G22", "001099012345", "c4"),
                   "UNIT_CODE_MALFORMED", "agency.unit_code"});
  cases.push_back({AgencyRequest("r5", "000.00.00.G22", "00109901234", "c5"), "CCCD_MALFORMED",
                   "agency.official_cccd"});
  cases.push_back(
      {CitizenRequest("r6", "001099012345x", "c6"), "CCCD_MALFORMED", "citizen.cccd"});
  {
    auto r = BusinessRequest("r7", "0319303270", "c7");
    r.set_subject_kind(v1::SUBJECT_KIND_AGENCY);  // says agency, carries a business
    cases.push_back({r, "IDENTITY_REQUIRED", "agency"});
  }
  {
    auto r = BusinessRequest("r8", "0319303270", "c8");
    r.set_subject_kind(0);
    cases.push_back({r, "SUBJECT_KIND_INVALID", "subject_kind"});
  }
  {
    auto r = BusinessRequest("r9", "0319303270", "c9");
    r.clear_certificate();
    cases.push_back({r, "CERTIFICATE_REQUIRED", "certificate"});
  }
  {
    auto r = BusinessRequest("r10", "0319303270", "c10");
    r.mutable_certificate()->clear_not_after();
    cases.push_back({r, "CERTIFICATE_NOT_AFTER_REQUIRED", "certificate.not_after"});
  }
  {
    auto r = BusinessRequest("r11", "0319303270", "c11");
    r.mutable_certificate()->set_method("PKCS11");
    cases.push_back({r, "CERTIFICATE_METHOD_INVALID", "certificate.method"});
  }
  for (const auto& k : cases) {
    v1::Account out;
    Outcome o = Of(Create(k.req, &out));
    EXPECT_EQ(o.code, grpc::StatusCode::INVALID_ARGUMENT) << k.reason;
    EXPECT_EQ(o.reason, k.reason);
    EXPECT_EQ(o.field, k.field) << k.reason;
  }
  EXPECT_EQ(RowCounts(),
            "accounts=0 citizen_identities=0 business_identities=0 agency_identities=0 "
            "certificate_credentials=0 consents=0 audit_events=0 outbox=0 ");
}

TEST_F(AccountsServiceTest, DuplicatesAnswerAlreadyExistsWithTheKind) {
  const std::string citizen = CreatePasswordCitizen("001099012345");
  v1::Account b, g;
  ASSERT_TRUE(Create(BusinessRequest("b", "0319303270", "business-usb"), &b).ok());
  ASSERT_TRUE(Create(AgencyRequest("g", "000.00.00.G22", "025199009534", "agency-sim"), &g).ok());
  const std::string before = RowCounts();
  struct Case {
    v1::CreateCertificateAccountRequest req;
    std::string reason, field;
  };
  std::vector<Case> cases = {
      {CitizenRequest("d1", "001099012345", "citizen-usb"), "ACCOUNT_EXISTS", "id_number"},
      {BusinessRequest("d2", "0319303270", "other-usb"), "BUSINESS_ACCOUNT_EXISTS",
       "business.mst"},
      {AgencyRequest("d3", "000.00.00.G22", "025199009534", "other-sim"),
       "AGENCY_ACCOUNT_EXISTS", "agency.official_cccd"},
      {CitizenRequest("d4", "079199001234", "business-usb"), "CERTIFICATE_ALREADY_REGISTERED",
       "certificate"},
  };
  for (const auto& k : cases) {
    v1::Account out;
    Outcome o = Of(Create(k.req, &out));
    EXPECT_EQ(o.code, grpc::StatusCode::ALREADY_EXISTS) << k.reason;
    EXPECT_EQ(o.reason, k.reason);
    EXPECT_EQ(o.field, k.field) << k.reason;
  }
  EXPECT_EQ(RowCounts(), before);

  v1::FindAccountRequest agency_key;
  agency_key.set_unit_code("000.00.00.G22");
  agency_key.set_official_cccd("025199009534");
  v1::LookupAccountIdResponse found;
  ASSERT_TRUE(Lookup(agency_key, &found).ok());
  EXPECT_EQ(found.account_id(), g.account_id());
  agency_key.set_official_cccd("");
  EXPECT_EQ(Of(Lookup(agency_key, &found)).reason, "CCCD_REQUIRED");
  v1::FindAccountRequest both;
  both.set_id_number("001099012345");
  both.set_mst("0319303270");
  EXPECT_EQ(Of(Lookup(both, &found)).reason, "LOOKUP_KEY_AMBIGUOUS");
  // The id_number behaviour is unchanged.
  v1::FindAccountRequest by_id;
  by_id.set_id_number("001099012345");
  ASSERT_TRUE(Lookup(by_id, &found).ok());
  EXPECT_EQ(found.account_id(), citizen);
}

TEST_F(AccountsServiceTest, AddCertificateRaisesAPasswordAccountToLevel3) {
  const std::string id = CreatePasswordCitizen("001099012345");
  ASSERT_FALSE(id.empty());
  v1::Account out;
  Outcome mismatch = Of(Add("add-0", id, "citizen-sim", "079199001234", &out));
  EXPECT_EQ(mismatch.code, grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(mismatch.reason, "CERTIFICATE_IDENTITY_MISMATCH");
  EXPECT_EQ(mismatch.field, "identity_number");
  EXPECT_EQ(Count("SELECT count(*) FROM certificate_credentials"), 0);

  grpc::Status g = Add("add-1", id, "citizen-sim", "001099012345", &out);
  ASSERT_TRUE(g.ok()) << g.error_message();
  EXPECT_EQ(out.ial(), 3);
  EXPECT_TRUE(out.has_password());
  EXPECT_EQ(out.citizen().cccd(), "001099012345");
  auto events = Events();
  ASSERT_EQ(events.size(), 4u);  // AccountCreated, PASSWORD SET, CERTIFICATE SET, level 2 → 3
  EXPECT_EQ(events[2].credential_changed().credential_type(), "CERTIFICATE");
  EXPECT_EQ(events[2].credential_changed().method(), "SIM");
  ASSERT_TRUE(events[3].has_assurance_level_changed());
  EXPECT_EQ(events[3].assurance_level_changed().from_ial(), 2);
  EXPECT_EQ(events[3].assurance_level_changed().to_ial(), 3);

  v1::FindByCertificateResponse f = FindCert(Fingerprint("citizen-sim"));
  EXPECT_TRUE(f.found());
  EXPECT_EQ(f.ial(), 3);
  EXPECT_EQ(f.method(), "SIM");

  v1::ListCertificatesRequest list_req;
  list_req.set_account_id(id);
  v1::ListCertificatesResponse list;
  auto ctx = server::ClientContext(absl::Seconds(10));
  ASSERT_TRUE(stub_->ListCertificates(ctx.get(), list_req, &list).ok());
  ASSERT_EQ(list.certificates_size(), 1);
  EXPECT_EQ(list.certificates(0).fingerprint_sha256(), Fingerprint("citizen-sim"));
  EXPECT_EQ(list.certificates(0).subscriber(), "84912345678");
  EXPECT_GT(list.certificates(0).created_at().seconds(), 0);

  list_req.set_account_id("00000000-0000-4000-8000-000000000000");
  auto ctx2 = server::ClientContext(absl::Seconds(10));
  Outcome missing = Of(stub_->ListCertificates(ctx2.get(), list_req, &list));
  EXPECT_EQ(missing.code, grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(missing.reason, "ACCOUNT_NOT_FOUND");
}

TEST_F(AccountsServiceTest, ConcurrentRegistrationsOfOneBusinessCreateOneAccount) {
  std::atomic<int> ok{0}, exists{0};
  std::vector<std::thread> ts;
  for (int i = 0; i < 8; ++i) {
    ts.emplace_back([&, i] {
      v1::Account out;
      grpc::Status g = Create(
          BusinessRequest("flow-" + std::to_string(i), "0104359717", "cert-" + std::to_string(i)),
          &out);
      if (g.ok()) ok++;
      Outcome o = Of(g);
      if (o.code == grpc::StatusCode::ALREADY_EXISTS && o.reason == "BUSINESS_ACCOUNT_EXISTS") {
        exists++;
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(exists.load(), 7);
  EXPECT_EQ(Count("SELECT count(*) FROM accounts"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM business_identities"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM outbox"), 2);
}

}  // namespace
}  // namespace dvc::accounts

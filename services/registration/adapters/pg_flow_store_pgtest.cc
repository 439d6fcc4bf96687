// PgFlowStore against the real PostgreSQL (DATABASE_URL): round trip, sealing at rest, step
// locking (serialisation, lock timeout), expiry and purge, and the domain on top of it.
#include "services/registration/adapters/pg_flow_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "libs/clock/clock.h"
#include "libs/crypto/aead.h"
#include "libs/crypto/random.h"
#include "libs/crypto/testing/fake_random.h"
#include "libs/pg/migrate.h"
#include "libs/pg/testing/test_database.h"
#include "libs/status/errors.h"
#include "services/registration/domain/registration.h"
#include "services/registration/migrations.h"
#include "services/registration/testing/fakes.h"

namespace dvc::registration {
namespace {

using ::dvc::status::ReasonOf;

const absl::Time kT0 = absl::FromUnixSeconds(1795000000) + absl::Microseconds(123456);

class PgFlowStoreTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto db = pg::testing::TestDatabase::Create("reg_flows");
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = db->release();
    pool_ = new pg::Pool({.url = db_->url(), .size = 12});
    ASSERT_TRUE(pg::Migrate(*pool_, migrations::Files()).ok());
  }
  static void TearDownTestSuite() {
    delete pool_;
    delete db_;
  }
  void SetUp() override {
    ASSERT_NE(pool_, nullptr);
    auto c = crypto::FieldCipher::Create("r1", std::string(32, 'k'));
    ASSERT_TRUE(c.ok());
    cipher_ = std::make_unique<crypto::FieldCipher>(std::move(*c));
    store_ = std::make_unique<PgFlowStore>(pool_, cipher_.get(), absl::Seconds(5));
  }

  Flow NewFlow(const std::string& request_id = "") {
    Flow f;
    f.flow_id = crypto::NewUuidV4(random_);
    f.state = FlowState::kSubscriberCheckPending;
    f.applicant = {"001090012345", "Nguyễn Văn An", "1990-05-17", "0912345678", "an@example.vn"};
    f.id_index = "idx-" + f.flow_id;
    f.masked_phone = "091****678";
    f.consent_version = "2024-01";
    f.consent_at = kT0;
    f.start_request_id = request_id;
    f.created_at = kT0;
    f.updated_at = kT0;
    f.expires_at = kT0 + absl::Minutes(30);
    return f;
  }

  std::string RawRow(const std::string& flow_id) {
    std::string out;
    EXPECT_TRUE(pool_->WithTransaction([&](pqxx::work& tx) {
      pqxx::result r = tx.exec_params(
          "SELECT row_to_json(f)::text FROM registration_flows f WHERE flow_id = $1::uuid",
          flow_id);
      if (!r.empty()) out = r[0][0].as<std::string>();
      return absl::OkStatus();
    }).ok());
    return out;
  }

  static pg::testing::TestDatabase* db_;
  static pg::Pool* pool_;
  crypto::OsRandom random_;
  std::unique_ptr<crypto::FieldCipher> cipher_;
  std::unique_ptr<PgFlowStore> store_;
};

pg::testing::TestDatabase* PgFlowStoreTest::db_ = nullptr;
pg::Pool* PgFlowStoreTest::pool_ = nullptr;

TEST_F(PgFlowStoreTest, RoundTripsEveryFieldAndSealsPersonalData) {
  Flow f = NewFlow("start-req-1");
  f.otp_expires_at = kT0 + absl::Minutes(5);
  ASSERT_TRUE(store_->Insert(f).ok());
  auto got = store_->Get(f.flow_id);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_TRUE(got->has_value());
  const Flow& g = **got;
  EXPECT_EQ(g.flow_id, f.flow_id);
  EXPECT_EQ(g.method, "MOBILE");
  EXPECT_EQ(g.state, FlowState::kSubscriberCheckPending);
  EXPECT_EQ(g.applicant.id_number, "001090012345");
  EXPECT_EQ(g.applicant.full_name, "Nguyễn Văn An");
  EXPECT_EQ(g.applicant.date_of_birth, "1990-05-17");
  EXPECT_EQ(g.applicant.phone, "0912345678");
  EXPECT_EQ(g.applicant.email, "an@example.vn");
  EXPECT_EQ(g.id_index, f.id_index);
  EXPECT_EQ(g.masked_phone, "091****678");
  EXPECT_EQ(g.consent_version, "2024-01");
  EXPECT_EQ(g.consent_at, kT0);  // microsecond precision survives
  EXPECT_EQ(g.start_request_id, "start-req-1");
  ASSERT_TRUE(g.otp_expires_at.has_value());
  EXPECT_EQ(*g.otp_expires_at, kT0 + absl::Minutes(5));
  EXPECT_FALSE(g.resend_after.has_value());
  EXPECT_EQ(g.expires_at, kT0 + absl::Minutes(30));
  EXPECT_EQ(g.version, 1);

  const std::string raw = RawRow(f.flow_id);
  ASSERT_FALSE(raw.empty());
  for (const char* secret : {"001090012345", "0912345678", "1990-05-17", "an@example.vn",
                             "Nguy"}) {
    EXPECT_EQ(raw.find(secret), std::string::npos) << secret << " in clear: " << raw;
  }

  auto by_req = store_->FindByStartRequest("start-req-1");
  ASSERT_TRUE(by_req.ok());
  ASSERT_TRUE(by_req->has_value());
  EXPECT_EQ((*by_req)->flow_id, f.flow_id);
  auto none = store_->FindByStartRequest("start-req-unknown");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  auto unknown = store_->Get("3f0c9a52-8a5e-4b1e-9c41-5d7d0e2f6a10");
  ASSERT_TRUE(unknown.ok());
  EXPECT_FALSE(unknown->has_value());
}

TEST_F(PgFlowStoreTest, CertificateFlowRoundTripsAndSealsTheCertificate) {
  Flow f = NewFlow();
  f.method = "SIM";
  f.applicant = Applicant{};
  f.id_index = "";
  f.state = FlowState::kSignaturePending;
  f.cert.subject_kind = SubjectKind::kAgency;
  f.cert.subscriber = "0987654321";
  f.cert.unit_code = "000.00.17.G22";
  f.cert.transaction_id = "tx-77";
  f.cert.verification_code = "4821";
  f.cert.signature_expires_at = kT0 + absl::Minutes(2);
  f.cert.signature_requests = 2;
  ASSERT_TRUE(store_->Insert(f).ok());
  Flow g = **store_->Get(f.flow_id);
  EXPECT_EQ(g.method, "SIM");
  EXPECT_EQ(g.state, FlowState::kSignaturePending);
  EXPECT_EQ(g.cert.subject_kind, SubjectKind::kAgency);
  EXPECT_EQ(g.cert.subscriber, "0987654321");
  EXPECT_EQ(g.cert.unit_code, "000.00.17.G22");
  EXPECT_EQ(g.cert.transaction_id, "tx-77");
  EXPECT_EQ(g.cert.verification_code, "4821");
  EXPECT_EQ(*g.cert.signature_expires_at, kT0 + absl::Minutes(2));
  EXPECT_EQ(g.cert.signature_requests, 2);
  EXPECT_FALSE(g.cert.certificate.has_value());

  // Verified: the certificate is saved sealed; challenge bytes (any bytes) survive.
  ASSERT_TRUE(store_->WithLockedFlow(f.flow_id, [](Flow* fl) {
    fl->state = FlowState::kExistingAccount;
    fl->account_id = "acc-existing";
    fl->cert.transaction_id.clear();
    fl->cert.verification_code.clear();
    fl->cert.signature_expires_at.reset();
    fl->cert.challenge_id = "chal-9";
    fl->cert.challenge = std::string("DVC\0\xff challenge", 17);
    CertificateInfo c = testing::certs::Official();
    c.method = "SIM";
    c.telephone = "84987654321";
    c.locality = "Ba Đình";
    c.mns = "1234567";
    fl->cert.certificate = c;
    return StepResult{true, absl::OkStatus()};
  }).ok());
  g = **store_->Get(f.flow_id);
  EXPECT_EQ(g.state, FlowState::kExistingAccount);
  EXPECT_EQ(g.account_id, "acc-existing");
  EXPECT_TRUE(g.cert.transaction_id.empty());
  EXPECT_FALSE(g.cert.signature_expires_at.has_value());
  EXPECT_EQ(g.cert.challenge_id, "chal-9");
  EXPECT_EQ(g.cert.challenge, std::string("DVC\0\xff challenge", 17));
  ASSERT_TRUE(g.cert.certificate.has_value());
  const CertificateInfo& c = *g.cert.certificate;
  const CertificateInfo want = testing::certs::Official();
  EXPECT_EQ(c.fingerprint_sha256, want.fingerprint_sha256);
  EXPECT_EQ(c.serial_hex, want.serial_hex);
  EXPECT_EQ(c.issuer_common_name, want.issuer_common_name);
  EXPECT_EQ(c.not_before, want.not_before);
  EXPECT_EQ(c.not_after, want.not_after);
  EXPECT_EQ(c.kind, "PERSON");
  EXPECT_TRUE(c.government_anchor);
  EXPECT_EQ(c.common_name, "Trần Thị Bình");
  EXPECT_EQ(c.organization, "Văn phòng Chính phủ");
  EXPECT_EQ(c.organizational_unit, want.organizational_unit);
  EXPECT_EQ(c.locality, "Ba Đình");
  EXPECT_EQ(c.telephone, "84987654321");
  EXPECT_EQ(c.cccd, "079185004321");
  EXPECT_EQ(c.mns, "1234567");
  EXPECT_EQ(c.method, "SIM");

  const std::string raw = RawRow(f.flow_id);
  for (const char* secret : {"079185004321", "0987654321", "Tr\u1ea7n", "Trần", "Bình",
                             "84987654321", "dddddddd"}) {
    EXPECT_EQ(raw.find(secret), std::string::npos) << secret << " in clear: " << raw;
  }
  EXPECT_NE(raw.find("\"subject_kind\":\"AGENCY\""), std::string::npos) << raw;

  // Ended: the document goes.
  ASSERT_TRUE(store_->WithLockedFlow(f.flow_id, [](Flow* fl) {
    fl->state = FlowState::kCompleted;
    fl->cert.certificate.reset();
    fl->cert.subscriber.clear();
    return StepResult{true, absl::OkStatus()};
  }).ok());
  EXPECT_NE(RawRow(f.flow_id).find("\"cert_sealed\":null"), std::string::npos);
}

TEST_F(PgFlowStoreTest, EveryStateIsAcceptedByTheSchema) {
  for (FlowState st : {FlowState::kSignatureStartPending, FlowState::kSignatureRequired,
                       FlowState::kSignaturePending, FlowState::kDuplicateCheckPending,
                       FlowState::kReview, FlowState::kExistingAccount, FlowState::kOtpSent}) {
    Flow f = NewFlow();
    f.state = st;
    ASSERT_TRUE(store_->Insert(f).ok()) << StateName(st);
    EXPECT_EQ((*store_->Get(f.flow_id))->state, st);
  }
}

TEST_F(PgFlowStoreTest, CertificateDocumentMovedToAnotherRowDoesNotOpen) {
  Flow a = NewFlow(), b = NewFlow();
  for (Flow* f : {&a, &b}) {
    f->method = "USB";
    f->cert.certificate = testing::certs::Citizen();
  }
  ASSERT_TRUE(store_->Insert(a).ok());
  ASSERT_TRUE(store_->Insert(b).ok());
  ASSERT_TRUE(pool_->WithTransaction([&](pqxx::work& tx) {
    tx.exec_params("UPDATE registration_flows SET cert_sealed = (SELECT cert_sealed FROM "
                   "registration_flows WHERE flow_id = $2::uuid) WHERE flow_id = $1::uuid",
                   a.flow_id, b.flow_id);
    return absl::OkStatus();
  }).ok());
  EXPECT_EQ(store_->Get(a.flow_id).status().code(), absl::StatusCode::kInternal);
  EXPECT_TRUE(store_->Get(b.flow_id).ok());
}

TEST_F(PgFlowStoreTest, StartRequestIdIsUnique) {
  ASSERT_TRUE(store_->Insert(NewFlow("dup-req")).ok());
  absl::Status s = store_->Insert(NewFlow("dup-req"));
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists);
  // Flows without a request id do not collide.
  EXPECT_TRUE(store_->Insert(NewFlow()).ok());
  EXPECT_TRUE(store_->Insert(NewFlow()).ok());
}

TEST_F(PgFlowStoreTest, SealedValueMovedToAnotherRowDoesNotOpen) {
  Flow a = NewFlow(), b = NewFlow();
  b.applicant.phone = "0987654321";
  ASSERT_TRUE(store_->Insert(a).ok());
  ASSERT_TRUE(store_->Insert(b).ok());
  ASSERT_TRUE(pool_->WithTransaction([&](pqxx::work& tx) {
    tx.exec_params("UPDATE registration_flows SET phone_sealed = (SELECT phone_sealed FROM "
                   "registration_flows WHERE flow_id = $2::uuid) WHERE flow_id = $1::uuid",
                   a.flow_id, b.flow_id);
    return absl::OkStatus();
  }).ok());
  auto got = store_->Get(a.flow_id);
  EXPECT_EQ(got.status().code(), absl::StatusCode::kInternal);
}

TEST_F(PgFlowStoreTest, StepSavesOnlyWhenAskedAndKeepsTheStepsError) {
  Flow f = NewFlow();
  ASSERT_TRUE(store_->Insert(f).ok());

  // Not saved: nothing changes.
  absl::Status s = store_->WithLockedFlow(f.flow_id, [](Flow* fl) -> StepResult {
    fl->state = FlowState::kOtpSent;
    return {false, absl::OkStatus()};
  });
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ((*store_->Get(f.flow_id))->state, FlowState::kSubscriberCheckPending);

  // Saved together with an error: the error comes back, the change persists.
  s = store_->WithLockedFlow(f.flow_id, [](Flow* fl) -> StepResult {
    fl->state = FlowState::kFailed;
    fl->failure_reason = "PHONE_NOT_OWNED";
    fl->applicant = Applicant{};
    return {true, absl::FailedPreconditionError("refused")};
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  const Flow g = **store_->Get(f.flow_id);
  EXPECT_EQ(g.state, FlowState::kFailed);
  EXPECT_EQ(g.failure_reason, "PHONE_NOT_OWNED");
  EXPECT_EQ(g.version, 2);
  EXPECT_TRUE(g.applicant.id_number.empty());
  const std::string raw = RawRow(f.flow_id);
  EXPECT_NE(raw.find("\"id_number_sealed\":null"), std::string::npos) << raw;
  EXPECT_NE(raw.find("\"phone_sealed\":null"), std::string::npos) << raw;

  // Unknown flow: the step sees nullptr.
  bool saw_null = false;
  s = store_->WithLockedFlow("3f0c9a52-8a5e-4b1e-9c41-5d7d0e2f6a10", [&](Flow* fl) {
    saw_null = fl == nullptr;
    return StepResult{true, absl::OkStatus()};
  });
  EXPECT_TRUE(s.ok());
  EXPECT_TRUE(saw_null);
}

TEST_F(PgFlowStoreTest, ConcurrentStepsOnOneFlowAreSerialised) {
  Flow f = NewFlow();
  ASSERT_TRUE(store_->Insert(f).ok());
  std::atomic<int> inside{0}, max_inside{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&] {
      absl::Status s = store_->WithLockedFlow(f.flow_id, [&](Flow* fl) {
        int now = ++inside;
        int prev = max_inside.load();
        while (now > prev && !max_inside.compare_exchange_weak(prev, now)) {}
        absl::SleepFor(absl::Milliseconds(50));  // "a call to another service"
        fl->ial += 1;                             // read-modify-write under the lock
        --inside;
        return StepResult{true, absl::OkStatus()};
      });
      EXPECT_TRUE(s.ok()) << s;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(max_inside.load(), 1);
  const Flow g = **store_->Get(f.flow_id);
  EXPECT_EQ(g.ial, 6);  // no lost update
  EXPECT_EQ(g.version, 7);
}

TEST_F(PgFlowStoreTest, WaitingLongerThanTheLockTimeoutIsFlowBusy) {
  PgFlowStore impatient(pool_, cipher_.get(), absl::Milliseconds(100));
  Flow f = NewFlow();
  ASSERT_TRUE(store_->Insert(f).ok());
  std::atomic<bool> holding{false};
  std::thread holder([&] {
    EXPECT_TRUE(store_->WithLockedFlow(f.flow_id, [&](Flow*) {
      holding = true;
      absl::SleepFor(absl::Milliseconds(800));
      return StepResult{false, absl::OkStatus()};
    }).ok());
  });
  while (!holding) absl::SleepFor(absl::Milliseconds(5));
  bool ran = false;
  absl::Status s = impatient.WithLockedFlow(f.flow_id, [&](Flow*) {
    ran = true;
    return StepResult{false, absl::OkStatus()};
  });
  holder.join();
  EXPECT_EQ(s.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(ReasonOf(s), "FLOW_BUSY");
  EXPECT_FALSE(ran);
}

TEST_F(PgFlowStoreTest, PurgeDeletesOnlyFlowsExpiredBeforeTheCutoff) {
  Flow old_flow = NewFlow(), fresh = NewFlow();
  old_flow.expires_at = kT0 - absl::Hours(48);
  fresh.expires_at = kT0 + absl::Hours(1);
  ASSERT_TRUE(store_->Insert(old_flow).ok());
  ASSERT_TRUE(store_->Insert(fresh).ok());
  auto n = store_->PurgeExpired(kT0 - absl::Hours(24));
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_GE(*n, 1);
  EXPECT_FALSE(store_->Get(old_flow.flow_id)->has_value());
  EXPECT_TRUE(store_->Get(fresh.flow_id)->has_value());
}

// The domain on the real store: expiry, the whole flow, and concurrent final steps.
class PgRegistrationTest : public PgFlowStoreTest {
 protected:
  PgRegistrationTest() : otp_(&clock_, testing::OtpOptions()), sigverify_(&clock_) {}
  void SetUp() override {
    PgFlowStoreTest::SetUp();
    clock_.Set(absl::Now());  // flows created "now" (purge test data uses kT0)
    reg_ = std::make_unique<Registration>(store_.get(), &captcha_, &idv_, &accounts_, &otp_,
                                          &sigverify_, &auth_, &clock_, &fake_random_,
                                          Options{absl::Minutes(30), "index-key"});
  }
  StartMobileInput Form() {
    StartMobileInput in;
    in.captcha_id = captcha_.Issue()->captcha_id;
    in.captcha_answer = testing::FakeCaptcha::kAnswer;
    in.id_number = "079301000123";
    in.full_name = "Trần Thị Bình";
    in.date_of_birth = "2001-03-04";
    in.phone = "0987654321";
    in.consent_version = "2024-01";
    return in;
  }

  FakeClock clock_;
  crypto::testing::FakeRandom fake_random_{static_cast<uint64_t>(absl::ToUnixNanos(absl::Now()))};
  testing::FakeCaptcha captcha_;
  testing::FakeIdv idv_;
  testing::FakeAccounts accounts_;
  testing::FakeOtp otp_;
  testing::FakeSigverify sigverify_;
  testing::FakeAuth auth_;
  std::unique_ptr<Registration> reg_;
};

TEST_F(PgRegistrationTest, FlowExpiresInTheDatabaseToo) {
  auto f = reg_->StartMobile(Form());
  ASSERT_TRUE(f.ok()) << f.status();
  clock_.Advance(absl::Minutes(30));
  EXPECT_EQ(ReasonOf(reg_->VerifyOtp(f->flow_id, "246810").status()), "FLOW_EXPIRED");
  EXPECT_EQ(ReasonOf(reg_->Get(f->flow_id).status()), "FLOW_EXPIRED");
}

TEST_F(PgRegistrationTest, UsbCertificateFlowOnTheRealStore) {
  sigverify_.AddCertificate("DER:business", testing::certs::Business());
  StartCertificateInput in;
  in.captcha_id = captcha_.Issue()->captcha_id;
  in.captcha_answer = testing::FakeCaptcha::kAnswer;
  in.method = "USB";
  in.subject_kind = "BUSINESS";
  in.consent_version = "2024-01";
  auto f = reg_->StartCertificate(in);
  ASSERT_TRUE(f.ok()) << f.status();
  auto got = reg_->Get(f->flow_id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->state, FlowState::kSignatureRequired);
  EXPECT_EQ(got->cert.challenge, f->cert.challenge);
  EXPECT_EQ(got->cert.subject_kind, SubjectKind::kBusiness);

  CertificateSignatureInput sig;
  sig.flow_id = f->flow_id;
  sig.format = SignatureFormat::kPkcs1Sha256;
  sig.signature = "signed:" + got->cert.challenge;
  sig.certificate = "DER:business";
  auto v = reg_->SubmitCertificateSignature(sig);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->state, FlowState::kReview);
  got = reg_->Get(f->flow_id);
  ASSERT_TRUE(got->cert.certificate.has_value());
  EXPECT_EQ(got->cert.certificate->mst, "0100686209");

  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      if (reg_->CompleteCertificate({f->flow_id, "ketoan@anbinh.vn", ""}).ok()) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 4);  // the winner creates, the others replay the same account
  EXPECT_EQ(accounts_.create_calls(), 1);
  EXPECT_EQ(accounts_.cert_accounts_created(), 1);
  got = reg_->Get(f->flow_id);
  EXPECT_EQ(got->state, FlowState::kCompleted);
  EXPECT_FALSE(got->cert.certificate.has_value());
  EXPECT_EQ(got->ial, 3);
}

TEST_F(PgRegistrationTest, ConcurrentSetPasswordCreatesOneAccount) {
  auto f = reg_->StartMobile(Form());
  ASSERT_TRUE(f.ok()) << f.status();
  ASSERT_TRUE(reg_->VerifyOtp(f->flow_id, "246810").ok());
  std::atomic<int> ok{0}, completed{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&] {
      auto s = reg_->SetPassword(f->flow_id, "Quy!Nhon-7391", "Quy!Nhon-7391");
      if (s.ok()) ++ok;
      else if (ReasonOf(s.status()) == "FLOW_COMPLETED") ++completed;
      else ADD_FAILURE() << s.status();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(completed.load(), 5);
  EXPECT_EQ(accounts_.create_calls(), 1);
  EXPECT_EQ(accounts_.accounts_created(), 1);
  auto got = reg_->Get(f->flow_id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->state, FlowState::kCompleted);
  EXPECT_TRUE(got->applicant.id_number.empty());
}

}  // namespace
}  // namespace dvc::registration

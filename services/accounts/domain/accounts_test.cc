// AccountsDomain with an in-memory store: validation, and that a wrong password and an unknown
// account cost the same (same store calls, one Argon2id verification, nothing opened); IAL3
// certificate accounts: validation and normalisation before anything reaches the store, the
// defensive identity check of AddCertificate, and the lookup keys.
#include "services/accounts/domain/accounts.h"

#include <gtest/gtest.h>

#include <functional>
#include <map>

#include "absl/strings/ascii.h"
#include "libs/clock/clock.h"
#include "libs/crypto/random.h"
#include "libs/status/errors.h"

namespace dvc::accounts {
namespace {

constexpr crypto::Argon2Params kFast{.m_kib = 1024, .t = 1, .p = 1};

class FakeStore final : public AccountStore {
 public:
  absl::StatusOr<Account> CreateCitizen(const NewCitizen& c, const std::string& account_id,
                                        const std::string& password_hash) override {
    if (by_id_number_.count(c.identity.cccd)) {
      return status::AlreadyExists("ACCOUNT_EXISTS", "id_number", "vi", "en");
    }
    Account a;
    a.account_id = account_id;
    a.ial = c.ial;
    a.citizen = c.identity;
    a.has_password = true;
    accounts_[account_id] = a;
    hashes_[account_id] = password_hash;
    by_id_number_[c.identity.cccd] = account_id;
    return a;
  }
  absl::StatusOr<std::optional<Account>> Get(const std::string& id) override {
    calls.push_back("Get");
    auto it = accounts_.find(id);
    if (it == accounts_.end()) return std::optional<Account>();
    return std::optional<Account>(it->second);
  }
  absl::StatusOr<std::optional<Account>> FindByIdNumber(const std::string& n) override {
    calls.push_back("FindByIdNumber");
    auto it = by_id_number_.find(n);
    if (it == by_id_number_.end()) return std::optional<Account>();
    return Get(it->second);
  }
  absl::StatusOr<std::optional<std::string>> FindAccountId(const std::string& n) override {
    calls.push_back("FindAccountId");
    auto it = by_id_number_.find(n);
    if (it == by_id_number_.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }
  absl::StatusOr<std::optional<Credential>> FindCredential(const std::string& n) override {
    calls.push_back("FindCredential");
    auto it = by_id_number_.find(n);
    if (it == by_id_number_.end()) return std::optional<Credential>();
    const Account& a = accounts_[it->second];
    return std::optional<Credential>(
        Credential{a.account_id, hashes_[a.account_id], a.ial, a.status, "sealed:" + a.citizen.phone});
  }
  absl::StatusOr<std::string> OpenPhone(const Credential& c) override {
    calls.push_back("OpenPhone");
    return c.phone_sealed.substr(7);
  }
  absl::Status SetPasswordHash(const std::string& id, const std::string& hash,
                               const std::string& change, const std::string& previous) override {
    calls.push_back("SetPasswordHash:" + change);
    if (change == "REHASHED" && hashes_[id] != previous) return absl::OkStatus();
    hashes_[id] = hash;
    return absl::OkStatus();
  }

  absl::StatusOr<Account> CreateCertificateAccount(const NewCertificateAccount& c,
                                                   const std::string& account_id) override {
    calls.push_back("CreateCertificateAccount");
    last_certificate_account = c;
    Account a;
    a.account_id = account_id;
    a.subject_kind = c.subject_kind;
    a.ial = 3;
    a.citizen = c.citizen;
    a.business = c.business;
    a.agency = c.agency;
    a.verification_source = kSourceCertificate;
    a.registration_method = c.certificate.method;
    accounts_[account_id] = a;
    return a;
  }
  absl::StatusOr<Account> AddCertificate(const NewCertificate& c) override {
    calls.push_back("AddCertificate");
    last_certificate = c;
    Account& a = accounts_[c.account_id];
    a.ial = 3;
    return a;
  }
  absl::StatusOr<std::optional<CertificateOwner>> FindByCertificate(
      const std::string& fp) override {
    calls.push_back("FindByCertificate:" + fp);
    return std::optional<CertificateOwner>();
  }
  absl::StatusOr<std::optional<std::vector<CertificateCredential>>> ListCertificates(
      const std::string& id) override {
    calls.push_back("ListCertificates");
    if (!accounts_.count(id)) return std::optional<std::vector<CertificateCredential>>();
    return std::optional<std::vector<CertificateCredential>>(std::vector<CertificateCredential>{});
  }
  absl::StatusOr<std::optional<std::string>> FindAccountIdByMst(const std::string& mst) override {
    calls.push_back("FindAccountIdByMst:" + mst);
    return std::optional<std::string>();
  }
  absl::StatusOr<std::optional<std::string>> FindAccountIdByAgency(
      const std::string& unit, const std::string& cccd) override {
    calls.push_back("FindAccountIdByAgency:" + unit + "|" + cccd);
    return std::optional<std::string>("agency-account");
  }

  void Put(const Account& a) { accounts_[a.account_id] = a; }

  std::vector<std::string> calls;
  NewCertificateAccount last_certificate_account;
  NewCertificate last_certificate;

 private:
  std::map<std::string, Account> accounts_;
  std::map<std::string, std::string> hashes_;
  std::map<std::string, std::string> by_id_number_;
};

NewCitizen Citizen() {
  NewCitizen c;
  c.request_id = "flow-1";
  c.identity = {"001099012345", "", "  Nguyễn   Văn An ", "1999-05-01", "MALE", "+84912345678", ""};
  c.ial = 2;
  c.verification_source = "TELCO";
  c.registration_method = "MOBILE";
  c.password = "Quoc-Gia@2026x";
  return c;
}

class AccountsDomainTest : public ::testing::Test {
 protected:
  crypto::OsRandom random_;
  FakeStore store_;
  FakeClock clock_;  // 2026-11-18
  AccountsDomain domain_{&store_, &random_, kFast, 1, &clock_};
};

const std::string kFingerprint(64, 'a');

CertificateCredential Certificate(const std::string& method = kMethodUsb) {
  CertificateCredential c;
  c.fingerprint_sha256 = kFingerprint;
  c.method = method;
  c.issuer_cn = "VNPT Certification Authority (TEST)";
  c.serial_hex = "01ABCDEF";
  c.not_after = absl::FromUnixSeconds(1795000000) + absl::Hours(24 * 365);
  return c;
}

NewCertificateAccount BusinessByCertificate() {
  NewCertificateAccount c;
  c.request_id = "flow-b";
  c.subject_kind = SubjectKind::kBusiness;
  c.business = {"0100109106", "  CÔNG TY   CỔ PHẦN ABC ", "KeToan@ABC.COM.VN", "", "", ""};
  c.certificate = Certificate();
  return c;
}

NewCertificateAccount AgencyByCertificate() {
  NewCertificateAccount c;
  c.request_id = "flow-g";
  c.subject_kind = SubjectKind::kAgency;
  c.agency = {"000.00.17.G22", "Bộ Tư pháp", "001099012345", "Trần Thị Bình", "", ""};
  c.certificate = Certificate(kMethodSim);
  return c;
}

NewCertificateAccount CitizenByCertificate() {
  NewCertificateAccount c;
  c.request_id = "flow-c";
  c.subject_kind = SubjectKind::kCitizen;
  c.citizen.cccd = "001099012345";
  c.citizen.full_name = "Nguyễn Văn An";
  c.certificate = Certificate(kMethodSmartCa);
  return c;
}

TEST_F(AccountsDomainTest, NormalisesIdentityBeforeStoring) {
  auto a = domain_.CreateCitizen(Citizen());
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->citizen.full_name, "Nguyễn Văn An");
  EXPECT_EQ(a->citizen.phone, "0912345678");
}

TEST_F(AccountsDomainTest, RefusesBadInputWithTheField) {
  struct Case {
    std::function<void(NewCitizen&)> mutate;
    std::string reason, field;
  };
  std::vector<Case> cases = {
      {[](NewCitizen& c) { c.request_id.clear(); }, "REQUEST_ID_REQUIRED", "request_id"},
      {[](NewCitizen& c) { c.identity.cccd.clear(); }, "ID_NUMBER_REQUIRED", "identity.cccd"},
      {[](NewCitizen& c) { c.identity.gender = "X"; }, "GENDER_INVALID", "identity.gender"},
      {[](NewCitizen& c) { c.ial = 4; }, "IAL_INVALID", "ial"},
      {[](NewCitizen& c) { c.password.clear(); }, "PASSWORD_REQUIRED", "password"},
      {[](NewCitizen& c) { c.identity.phone = "12"; }, "PHONE_MALFORMED", "identity.phone"},
  };
  for (const auto& k : cases) {
    NewCitizen c = Citizen();
    k.mutate(c);
    auto r = domain_.CreateCitizen(c);
    ASSERT_FALSE(r.ok()) << k.reason;
    EXPECT_EQ(status::ReasonOf(r.status()), k.reason);
    EXPECT_EQ(status::GetErrorInfo(r.status())->field, k.field) << k.reason;
  }
}

TEST_F(AccountsDomainTest, WrongPasswordAndUnknownAccountDoTheSameWork) {
  ASSERT_TRUE(domain_.CreateCitizen(Citizen()).ok());
  store_.calls.clear();
  auto wrong = domain_.VerifyPassword("001099012345", "Sai-MatKhau@1");
  std::vector<std::string> wrong_calls = store_.calls;
  store_.calls.clear();
  auto unknown = domain_.VerifyPassword("079099012345", "Sai-MatKhau@1");
  ASSERT_TRUE(wrong.ok() && unknown.ok());
  EXPECT_FALSE(wrong->valid);
  EXPECT_FALSE(unknown->valid);
  EXPECT_EQ(wrong_calls, store_.calls);  // one credential read, nothing opened
  EXPECT_EQ(store_.calls, std::vector<std::string>{"FindCredential"});
}

TEST_F(AccountsDomainTest, RightPasswordOpensOnlyThePhone) {
  ASSERT_TRUE(domain_.CreateCitizen(Citizen()).ok());
  store_.calls.clear();
  auto r = domain_.VerifyPassword("001099012345", "Quoc-Gia@2026x");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->valid);
  EXPECT_EQ(r->phone, "0912345678");
  EXPECT_EQ(store_.calls, (std::vector<std::string>{"FindCredential", "OpenPhone"}));
}

TEST_F(AccountsDomainTest, MalformedIdNumbersAreSimplyInvalidCredentials) {
  auto r = domain_.VerifyPassword("abc", "x");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->valid);
  EXPECT_TRUE(store_.calls.empty());
}

TEST_F(AccountsDomainTest, CertificateAccountsAreNormalisedBeforeStoring) {
  auto b = BusinessByCertificate();
  b.certificate.fingerprint_sha256 = std::string(64, 'A');
  b.certificate.serial_hex = "00FF";
  auto a = domain_.CreateCertificateAccount(b);
  ASSERT_TRUE(a.ok()) << a.status();
  const NewCertificateAccount& stored = store_.last_certificate_account;
  EXPECT_EQ(stored.business.name, "CÔNG TY CỔ PHẦN ABC");
  EXPECT_EQ(stored.business.email, "KeToan@abc.com.vn");
  EXPECT_EQ(stored.certificate.fingerprint_sha256, kFingerprint);
  EXPECT_EQ(stored.certificate.serial_hex, "00ff");
  // A citizen needs no birth date or phone when a certificate identifies them.
  ASSERT_TRUE(domain_.CreateCertificateAccount(CitizenByCertificate()).ok());
  // A passport-only citizen; the number is stored upper-case.
  auto p = CitizenByCertificate();
  p.citizen.cccd.clear();
  p.citizen.passport = "e00851967";
  ASSERT_TRUE(domain_.CreateCertificateAccount(p).ok());
  EXPECT_EQ(store_.last_certificate_account.citizen.passport, "E00851967");
  // SIM subscribers are stored as E.164 digits.
  auto g = AgencyByCertificate();
  g.certificate.subscriber = "0912 345 678";
  ASSERT_TRUE(domain_.CreateCertificateAccount(g).ok());
  EXPECT_EQ(store_.last_certificate_account.certificate.subscriber, "84912345678");
  // Only the identity of the declared kind reaches the store.
  auto mixed = BusinessByCertificate();
  mixed.citizen.cccd = "001099012345";
  ASSERT_TRUE(domain_.CreateCertificateAccount(mixed).ok());
  EXPECT_TRUE(store_.last_certificate_account.citizen.cccd.empty());
}

TEST_F(AccountsDomainTest, BadCertificateAccountsNeverReachTheStore) {
  struct Case {
    std::function<NewCertificateAccount()> make;
    std::string reason, field;
  };
  auto with = [](NewCertificateAccount (*base)(), std::function<void(NewCertificateAccount&)> f) {
    return [base, f] {
      NewCertificateAccount c = base();
      f(c);
      return c;
    };
  };
  std::vector<Case> cases = {
      {with(BusinessByCertificate, [](auto& c) { c.request_id.clear(); }), "REQUEST_ID_REQUIRED",
       "request_id"},
      {with(BusinessByCertificate, [](auto& c) { c.business.email.clear(); }), "EMAIL_REQUIRED",
       "business.email"},
      {with(BusinessByCertificate, [](auto& c) { c.business.email = "not-an-email"; }),
       "EMAIL_MALFORMED", "business.email"},
      {with(BusinessByCertificate, [](auto& c) { c.business.mst = "0100109107"; }),
       "MST_CHECKSUM", "business.mst"},
      {with(BusinessByCertificate, [](auto& c) { c.business.mst = "0100686209-000"; }),
       "MST_MALFORMED", "business.mst"},
      {with(BusinessByCertificate, [](auto& c) { c.business.mst.clear(); }), "MST_REQUIRED",
       "business.mst"},
      {with(BusinessByCertificate, [](auto& c) { c.business.name = "   "; }), "NAME_REQUIRED",
       "business.name"},
      {with(BusinessByCertificate, [](auto& c) { c.business.representative_cccd = "12345"; }),
       "CCCD_MALFORMED", "business.representative_cccd"},
      {with(BusinessByCertificate, [](auto& c) { c.business.phone = "12"; }), "PHONE_MALFORMED",
       "business.phone"},
      {with(AgencyByCertificate, [](auto& c) { c.agency.unit_code = "000.00.17.g22"; }),
       "UNIT_CODE_MALFORMED", "agency.unit_code"},
      {with(AgencyByCertificate, [](auto& c) { c.agency.official_cccd.clear(); }),
       "CCCD_REQUIRED", "agency.official_cccd"},
      {with(AgencyByCertificate, [](auto& c) { c.agency.official_cccd = "999099012345"; }),
       "CCCD_PROVINCE_INVALID", "agency.official_cccd"},
      {with(AgencyByCertificate, [](auto& c) { c.agency.official_full_name = "Bình 2"; }),
       "NAME_INVALID", "agency.official_full_name"},
      {with(CitizenByCertificate, [](auto& c) { c.citizen.cccd = "00109901234"; }),
       "CCCD_MALFORMED", "citizen.cccd"},
      {with(CitizenByCertificate, [](auto& c) { c.citizen.cccd.clear(); }), "ID_NUMBER_REQUIRED",
       "citizen.cccd"},
      {with(CitizenByCertificate, [](auto& c) { c.citizen.date_of_birth = "1985-05-01"; }),
       "CCCD_BIRTH_YEAR_MISMATCH", "citizen.date_of_birth"},
      {with(CitizenByCertificate,
            [](auto& c) {
              c.citizen.cccd.clear();
              c.citizen.passport = "E-0085";
            }),
       "PASSPORT_MALFORMED", "citizen.passport"},
      {with(CitizenByCertificate, [](auto& c) { c.subject_kind = static_cast<SubjectKind>(7); }),
       "SUBJECT_KIND_INVALID", "subject_kind"},
      {with(CitizenByCertificate, [](auto& c) { c.certificate = {}; }), "CERTIFICATE_REQUIRED",
       "certificate"},
      {with(CitizenByCertificate, [](auto& c) { c.certificate.fingerprint_sha256 += "0"; }),
       "CERTIFICATE_FINGERPRINT_MALFORMED", "certificate.fingerprint_sha256"},
      {with(CitizenByCertificate,
            [](auto& c) { c.certificate.fingerprint_sha256 = std::string(63, 'a') + "g"; }),
       "CERTIFICATE_FINGERPRINT_MALFORMED", "certificate.fingerprint_sha256"},
      {with(CitizenByCertificate, [](auto& c) { c.certificate.method = "usb"; }),
       "CERTIFICATE_METHOD_INVALID", "certificate.method"},
      {with(CitizenByCertificate, [](auto& c) { c.certificate.issuer_cn.clear(); }),
       "CERTIFICATE_ISSUER_INVALID", "certificate.issuer_cn"},
      {with(CitizenByCertificate, [](auto& c) { c.certificate.serial_hex = "xyz"; }),
       "CERTIFICATE_SERIAL_MALFORMED", "certificate.serial_hex"},
      {with(CitizenByCertificate,
            [](auto& c) { c.certificate.not_after = absl::InfinitePast(); }),
       "CERTIFICATE_NOT_AFTER_REQUIRED", "certificate.not_after"},
      {with(CitizenByCertificate,
            [](auto& c) { c.certificate.not_after = absl::FromUnixSeconds(1795000000); }),
       "CERT_EXPIRED", "certificate.not_after"},
      {with(AgencyByCertificate, [](auto& c) { c.certificate.subscriber = "12345"; }),
       "PHONE_MALFORMED", "certificate.subscriber"},
      {with(BusinessByCertificate, [](auto& c) { c.certificate.subscriber = "someone"; }),
       "CERTIFICATE_SUBSCRIBER_INVALID", "certificate.subscriber"},
  };
  for (const auto& k : cases) {
    auto r = domain_.CreateCertificateAccount(k.make());
    ASSERT_FALSE(r.ok()) << k.reason;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << k.reason;
    EXPECT_EQ(status::ReasonOf(r.status()), k.reason);
    EXPECT_EQ(status::GetErrorInfo(r.status())->field, k.field) << k.reason;
  }
  EXPECT_TRUE(store_.calls.empty());
}

TEST_F(AccountsDomainTest, AddCertificateRefusesAnotherSubjectsCertificate) {
  Account citizen;
  citizen.account_id = "00000000-0000-4000-8000-000000000001";
  citizen.ial = 2;
  citizen.citizen.cccd = "001099012345";
  citizen.citizen.cmnd = "012345678";
  Account business;
  business.account_id = "00000000-0000-4000-8000-000000000002";
  business.subject_kind = SubjectKind::kBusiness;
  business.business.mst = "0100686209-199";
  Account agency;
  agency.account_id = "00000000-0000-4000-8000-000000000003";
  agency.subject_kind = SubjectKind::kAgency;
  agency.agency.unit_code = "000.00.17.G22";
  agency.agency.official_cccd = "001099012345";
  Account foreigner;
  foreigner.account_id = "00000000-0000-4000-8000-000000000004";
  foreigner.citizen.passport = "E00851967";
  for (const Account* a : {&citizen, &business, &agency, &foreigner}) store_.Put(*a);

  auto add = [&](const Account& a, const std::string& number) {
    NewCertificate c;
    c.request_id = "add-" + number;
    c.account_id = a.account_id;
    c.certificate = Certificate();
    c.identity_number = number;
    return domain_.AddCertificate(c);
  };
  struct Case {
    const Account* account;
    std::string number;
    bool ok;
  };
  std::vector<Case> cases = {
      {&citizen, "001099012345", true},  {&citizen, "012345678", true},
      {&citizen, "079099012345", false}, {&citizen, "", false},
      {&business, "0100686209-199", true}, {&business, "0100686209", false},
      {&business, "001099012345", false},  {&agency, "001099012345", true},
      {&agency, "000.00.17.G22", false},   {&foreigner, "e00851967", true},
      {&foreigner, "E00851968", false},
  };
  for (const auto& k : cases) {
    store_.calls.clear();
    auto r = add(*k.account, k.number);
    if (k.ok) {
      EXPECT_TRUE(r.ok()) << k.number << " " << r.status();
      EXPECT_EQ(store_.calls.back(), "AddCertificate") << k.number;
      EXPECT_EQ(store_.last_certificate.identity_number, k.number);
    } else {
      ASSERT_FALSE(r.ok()) << k.number;
      EXPECT_EQ(status::ReasonOf(r.status()), k.number.empty() ? "IDENTITY_NUMBER_REQUIRED"
                                                                : "CERTIFICATE_IDENTITY_MISMATCH")
          << k.number;
      EXPECT_EQ(std::count(store_.calls.begin(), store_.calls.end(), "AddCertificate"), 0);
    }
  }
  NewCertificate unknown;
  unknown.request_id = "x";
  unknown.account_id = "not-a-uuid";
  unknown.certificate = Certificate();
  unknown.identity_number = "001099012345";
  EXPECT_EQ(status::ReasonOf(domain_.AddCertificate(unknown).status()), "ACCOUNT_NOT_FOUND");
}

TEST_F(AccountsDomainTest, LookupByBusinessOrAgencyKeys) {
  auto mst = domain_.LookupAccountId(AccountKey{"", "0104359717", "", ""});
  ASSERT_TRUE(mst.ok()) << mst.status();
  EXPECT_FALSE(mst->has_value());
  auto agency = domain_.LookupAccountId(AccountKey{"", "", "000.00.17.G22", "001099012345"});
  ASSERT_TRUE(agency.ok()) << agency.status();
  EXPECT_EQ(agency->value_or(""), "agency-account");
  EXPECT_EQ(store_.calls, (std::vector<std::string>{
                              "FindAccountIdByMst:0104359717",
                              "FindAccountIdByAgency:000.00.17.G22|001099012345"}));
  store_.calls.clear();
  struct Case {
    AccountKey key;
    std::string reason, field;
  };
  std::vector<Case> cases = {
      {{"001099012345", "0104359717", "", ""}, "LOOKUP_KEY_AMBIGUOUS", "id_number"},
      {{"", "0104359717", "000.00.17.G22", "001099012345"}, "LOOKUP_KEY_AMBIGUOUS", "mst"},
      {{"", "0104359718", "", ""}, "MST_CHECKSUM", "mst"},
      {{"", "", "000.00.17.G22", ""}, "CCCD_REQUIRED", "official_cccd"},
      {{"", "", "", "001099012345"}, "UNIT_CODE_REQUIRED", "unit_code"},
      {{"", "", "000.00.17", "001099012345"}, "UNIT_CODE_MALFORMED", "unit_code"},
      {{"", "", "", ""}, "ID_NUMBER_MALFORMED", "id_number"},  // as before: the id_number path
  };
  for (const auto& k : cases) {
    auto r = domain_.LookupAccountId(k.key);
    ASSERT_FALSE(r.ok()) << k.reason;
    EXPECT_EQ(status::ReasonOf(r.status()), k.reason);
    EXPECT_EQ(status::GetErrorInfo(r.status())->field, k.field) << k.reason;
  }
  EXPECT_TRUE(store_.calls.empty());
}

TEST_F(AccountsDomainTest, FindByCertificateNormalisesTheFingerprint) {
  ASSERT_TRUE(domain_.FindByCertificate(std::string(64, 'F')).ok());
  EXPECT_EQ(store_.calls, std::vector<std::string>{"FindByCertificate:" + std::string(64, 'f')});
  EXPECT_EQ(status::ReasonOf(domain_.FindByCertificate("abc").status()),
            "CERTIFICATE_FINGERPRINT_MALFORMED");
  EXPECT_EQ(status::ReasonOf(domain_.ListCertificates("00000000-0000-4000-8000-000000000009")
                                 .status()),
            "ACCOUNT_NOT_FOUND");
}

}  // namespace
}  // namespace dvc::accounts

// AccountsDomain with an in-memory store: validation, and that a wrong password and an unknown
// account cost the same (same store calls, one Argon2id verification, nothing opened).
#include "services/accounts/domain/accounts.h"

#include <gtest/gtest.h>

#include <map>

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

  std::vector<std::string> calls;

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
  AccountsDomain domain_{&store_, &random_, kFast, 1};
};

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

}  // namespace
}  // namespace dvc::accounts

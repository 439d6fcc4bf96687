#include "libs/validators/password_policy.h"

#include <cstdio>
#include <fstream>
#include <string>

#include "gtest/gtest.h"
#include "libs/status/errors.h"

namespace dvc::validators {
namespace {

using ::dvc::status::GetErrorInfo;
using ::dvc::status::ReasonOf;

const BreachedPasswordList& Empty() {
  static const auto* l = new BreachedPasswordList();
  return *l;
}

std::string Reason(absl::string_view pw, const PasswordContext& ctx = {}) {
  return ReasonOf(ValidatePassword(pw, pw, ctx));
}

TEST(PasswordPolicyTest, StrongPasswordAccepted) {
  EXPECT_TRUE(ValidatePassword("Tr0ng-Dong!Xanh", "Tr0ng-Dong!Xanh").ok());
  EXPECT_TRUE(ValidatePassword("Mùa thu Hà Nội 1945", "Mùa thu Hà Nội 1945").ok());  // space
  EXPECT_TRUE(ValidatePassword("Đỗ#2024xyz", "Đỗ#2024xyz").ok());  // Vietnamese upper/lower
}

TEST(PasswordPolicyTest, LengthInCodePoints) {
  EXPECT_EQ(Reason("Ab1!xyz"), "PASSWORD_TOO_SHORT");  // 7
  EXPECT_EQ(Reason(""), "PASSWORD_TOO_SHORT");
  // "Ảb1!ễễễ" is 7 code points but 15 bytes: still too short.
  EXPECT_EQ(Reason("Ảb1!ễễễ"), "PASSWORD_TOO_SHORT");
  EXPECT_TRUE(ValidatePassword("Ảb1!ễễễễ", "Ảb1!ễễễễ").ok());
  std::string max = "Ab1!" + std::string(124, 'q');
  EXPECT_TRUE(ValidatePassword(max, max).ok());
  EXPECT_EQ(Reason(max + "q"), "PASSWORD_TOO_LONG");
  auto s = ValidatePassword("short", "short");
  EXPECT_EQ(GetErrorInfo(s)->field, "password");
  EXPECT_NE(GetErrorInfo(s)->message_vi.find("8"), std::string::npos);
}

TEST(PasswordPolicyTest, WeakListsMissingClasses) {
  auto s = ValidatePassword("abcdefghij", "abcdefghij");
  ASSERT_EQ(ReasonOf(s), "PASSWORD_TOO_WEAK");
  auto info = GetErrorInfo(s);
  EXPECT_EQ(info->metadata.at("missing"), "upper,digit,special");
  EXPECT_NE(info->message_vi.find("chữ hoa"), std::string::npos);
  EXPECT_NE(info->message_vi.find("chữ số"), std::string::npos);
  EXPECT_NE(info->message_vi.find("ký tự đặc biệt"), std::string::npos);
  EXPECT_EQ(info->message_vi.find("chữ thường"), std::string::npos);
  EXPECT_NE(info->message_en.find("an upper-case letter"), std::string::npos);
  EXPECT_NE(info->message_en.find("a digit"), std::string::npos);
  EXPECT_NE(info->message_en.find("a special character"), std::string::npos);
  EXPECT_EQ(info->message_en.find("lower-case"), std::string::npos);

  EXPECT_EQ(GetErrorInfo(ValidatePassword("ABCDEFG1!", "ABCDEFG1!"))->metadata.at("missing"),
            "lower");
  EXPECT_EQ(GetErrorInfo(ValidatePassword("Abcdefgh!", "Abcdefgh!"))->metadata.at("missing"),
            "digit");
  EXPECT_EQ(GetErrorInfo(ValidatePassword("Abcdefgh1", "Abcdefgh1"))->metadata.at("missing"),
            "special");
  EXPECT_EQ(GetErrorInfo(ValidatePassword("12345678", "12345678", {}, Empty()))
                ->metadata.at("missing"),
            "lower,upper,special");
}

TEST(PasswordPolicyTest, PolicyIsConfigurable) {
  PasswordPolicy p;
  p.require_special = false;
  p.min_chars = 10;
  EXPECT_EQ(ReasonOf(ValidatePassword("Abcdefg12", "Abcdefg12", {}, Empty(), p)),
            "PASSWORD_TOO_SHORT");
  EXPECT_TRUE(ValidatePassword("Abcdefgh12", "Abcdefgh12", {}, Empty(), p).ok());
}

TEST(PasswordPolicyTest, Mismatch) {
  auto s = ValidatePassword("Tr0ng-Dong!Xanh", "Tr0ng-Dong!Xanh ");
  EXPECT_EQ(ReasonOf(s), "PASSWORD_MISMATCH");
  EXPECT_EQ(GetErrorInfo(s)->field, "password_confirmation");
  EXPECT_EQ(ReasonOf(ValidatePassword("Tr0ng-Dong!Xanh", "")), "PASSWORD_MISMATCH");
}

TEST(PasswordPolicyTest, BreachedBuiltInListCaseInsensitive) {
  for (const char* pw : {"Password@123", "P@ssw0rd", "Abc@12345", "Matkhau@123", "Admin@123",
                         "Qwerty@123", "pASSWORD@123", "p@SSW0RD", "Vietnam@2024"}) {
    auto s = ValidatePassword(pw, pw);
    EXPECT_EQ(ReasonOf(s), "PASSWORD_BREACHED") << pw;
    EXPECT_EQ(GetErrorInfo(s)->field, "password");
  }
  const BreachedPasswordList& builtin = BreachedPasswordList::BuiltIn();
  EXPECT_GT(builtin.size(), 300u);
  EXPECT_TRUE(builtin.Contains("123456"));
  EXPECT_TRUE(builtin.Contains("PASSWORD"));
  EXPECT_FALSE(builtin.Contains("Tr0ng-Dong!Xanh"));
  EXPECT_FALSE(builtin.Contains(""));
}

TEST(PasswordPolicyTest, BuiltInListMatchesDataFile) {
  // The compiled-in list is exactly data/breached-passwords.txt.
  auto from_file = BreachedPasswordList::LoadFromFile("data/breached-passwords.txt");
  ASSERT_TRUE(from_file.ok()) << from_file.status();
  EXPECT_EQ(from_file->size(), BreachedPasswordList::BuiltIn().size());
  std::ifstream in("data/breached-passwords.txt");
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ASSERT_TRUE(BreachedPasswordList::BuiltIn().Contains(line)) << line;
    ++n;
  }
  EXPECT_EQ(static_cast<size_t>(n), BreachedPasswordList::BuiltIn().size());
}

TEST(PasswordPolicyTest, ListFromTextAndFile) {
  auto list = BreachedPasswordList::FromText("Hunter2!Xy\r\n\nMật Khẩu#9Ab\n");
  EXPECT_EQ(list.size(), 2u);
  EXPECT_TRUE(list.Contains("hunter2!xy"));
  EXPECT_TRUE(list.Contains("MẬT KHẨU#9AB"));
  EXPECT_FALSE(list.Contains("Hunter2!Xy\r"));
  EXPECT_EQ(ReasonOf(ValidatePassword("HUNTER2!xY", "HUNTER2!xY", {}, list)),
            "PASSWORD_BREACHED");
  // Not in this list (but in the built-in one): accepted with the custom list.
  EXPECT_TRUE(ValidatePassword("Password@123", "Password@123", {}, list).ok());

  std::string path = ::testing::TempDir() + "/breached.txt";
  {
    std::ofstream out(path);
    out << "Zyx#4321Q\n";
  }
  auto loaded = BreachedPasswordList::LoadFromFile(path);
  ASSERT_TRUE(loaded.ok());
  EXPECT_TRUE(loaded->Contains("zyx#4321q"));
  std::remove(path.c_str());
  EXPECT_EQ(BreachedPasswordList::LoadFromFile(path).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(PasswordPolicyTest, PersonalData) {
  PasswordContext ctx{"001099012345", "+84 912 345 678"};
  for (const char* pw : {"Xx!001099012345", "001099012345Aa@", "Zz#0912345678", "Zz#912345678q",
                         "Zz#84912345678", "Ab@0912.345.678", "Cccd 001 099 012 345!a"}) {
    auto s = ValidatePassword(pw, pw, ctx, Empty());
    EXPECT_EQ(ReasonOf(s), "PASSWORD_CONTAINS_PERSONAL_DATA") << pw;
    EXPECT_EQ(GetErrorInfo(s)->field, "password");
  }
  EXPECT_TRUE(ValidatePassword("Zz#09123456", "Zz#09123456", ctx, Empty()).ok());
  PasswordContext cmnd{"012345678", ""};
  EXPECT_EQ(ReasonOf(ValidatePassword("Ab!012345678", "Ab!012345678", cmnd, Empty())),
            "PASSWORD_CONTAINS_PERSONAL_DATA");
  // No context: nothing to compare.
  EXPECT_TRUE(ValidatePassword("Xx!001099012345", "Xx!001099012345", {}, Empty()).ok());
}

TEST(PasswordPolicyTest, InvalidUtf8) {
  EXPECT_EQ(Reason("Abcdef1!\xff"), "PASSWORD_INVALID");
}

TEST(PasswordPolicyTest, MessagesNeverEchoThePassword) {
  const char* pw = "Password@123";
  auto info = GetErrorInfo(ValidatePassword(pw, pw));
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->message_vi.find(pw), std::string::npos);
  EXPECT_EQ(info->message_en.find(pw), std::string::npos);
}

}  // namespace
}  // namespace dvc::validators

#include "libs/validators/email.h"

#include <string>

#include "gtest/gtest.h"
#include "libs/status/errors.h"

namespace dvc::validators {
namespace {

using ::dvc::status::GetErrorInfo;
using ::dvc::status::ReasonOf;

TEST(EmailTest, ValidAndDomainLowerCased) {
  EXPECT_EQ(*NormalizeEmail("Nguyen.Van.A@Gmail.COM"), "Nguyen.Van.A@gmail.com");
  EXPECT_EQ(*NormalizeEmail("a+tag@mail.dichvucong.gov.vn"), "a+tag@mail.dichvucong.gov.vn");
  EXPECT_EQ(*NormalizeEmail("o'brien_x-1@sub-domain.example.vn"),
            "o'brien_x-1@sub-domain.example.vn");
  EXPECT_TRUE(ValidateEmail("x@xn--bcher-kva.example").ok());
  EXPECT_TRUE(ValidateEmail("x@example.xn--p1ai").ok());
  std::string local64(64, 'a');
  EXPECT_TRUE(ValidateEmail(local64 + "@example.vn").ok());
  // Exactly 254 characters.
  std::string domain = std::string(63, 'b') + "." + std::string(63, 'c') + "." +
                       std::string(63, 'd') + ".vn";
  std::string addr = std::string(254 - 1 - domain.size(), 'a') + "@" + domain;
  ASSERT_EQ(addr.size(), 254u);
  EXPECT_TRUE(ValidateEmail(addr).ok());
  EXPECT_FALSE(ValidateEmail("a" + addr).ok());
}

TEST(EmailTest, Malformed) {
  for (const char* bad : {"", "plain", "@example.vn", "a@", "a@b", "a@@b.vn", "a@b@c.vn",
                          ".a@b.vn", "a.@b.vn", "a..b@c.vn", "a b@c.vn", "a@b .vn",
                          "a@-b.vn", "a@b-.vn", "a@b..vn", "a@.b.vn", "a@b.vn.", "a@b.v",
                          "a@b.123", "a@b.c0m", "\"a b\"@c.vn", "a@b_c.vn", "nguyễn@c.vn",
                          "a@bücher.vn", "a@xn--.vn", "a\n@b.vn", "a@b.vn\n", " a@b.vn"}) {
    auto s = ValidateEmail(bad);
    EXPECT_EQ(ReasonOf(s), "EMAIL_MALFORMED") << bad;
    EXPECT_EQ(GetErrorInfo(s)->field, "email");
  }
  EXPECT_EQ(ReasonOf(ValidateEmail(std::string(65, 'a') + "@b.vn")), "EMAIL_MALFORMED");
  EXPECT_EQ(ReasonOf(ValidateEmail("a@" + std::string(64, 'b') + ".vn")), "EMAIL_MALFORMED");
  EXPECT_EQ(GetErrorInfo(ValidateEmail("x", "contact_email"))->field, "contact_email");
}

}  // namespace
}  // namespace dvc::validators

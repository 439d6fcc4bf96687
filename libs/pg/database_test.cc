#include "libs/pg/database.h"

#include "gtest/gtest.h"
#include "libs/status/errors.h"

namespace dvc::pg {
namespace {

TEST(WithDatabaseNameTest, ReplacesPathOfUrl) {
  EXPECT_EQ(*WithDatabaseName("postgresql://app@127.0.0.1:55432/postgres", "dvc_accounts"),
            "postgresql://app@127.0.0.1:55432/dvc_accounts");
  EXPECT_EQ(*WithDatabaseName("postgres://u:p%40ss@db.local/x?sslmode=require&connect_timeout=5",
                              "y"),
            "postgres://u:p%40ss@db.local/y?sslmode=require&connect_timeout=5");
}

TEST(WithDatabaseNameTest, AddsPathWhenUrlHasNone) {
  EXPECT_EQ(*WithDatabaseName("postgresql://app@host:5432", "d"), "postgresql://app@host:5432/d");
  EXPECT_EQ(*WithDatabaseName("postgresql://app@host?sslmode=disable", "d"),
            "postgresql://app@host/d?sslmode=disable");
  EXPECT_EQ(*WithDatabaseName("postgresql://", "d"), "postgresql:///d");
}

TEST(WithDatabaseNameTest, DropsDbnameQueryParameter) {
  EXPECT_EQ(*WithDatabaseName("postgresql://h/a?dbname=a&application_name=x", "b"),
            "postgresql://h/b?application_name=x");
}

TEST(WithDatabaseNameTest, ConninfoKeyValue) {
  EXPECT_EQ(*WithDatabaseName("host=127.0.0.1 port=5432 dbname=postgres user=app", "svc"),
            "host=127.0.0.1 port=5432 user=app dbname=svc");
  EXPECT_EQ(*WithDatabaseName("host=h password='a b\\'c' ", "svc"),
            "host=h password='a b\\'c' dbname=svc");
  EXPECT_FALSE(WithDatabaseName("host=h password='unterminated", "svc").ok());
  EXPECT_FALSE(WithDatabaseName("justgarbage", "svc").ok());
}

TEST(WithDatabaseNameTest, RejectsUnsafeNames) {
  for (const char* bad : {"", "a-b", "a;drop", "x y", "\"q\"",
                          "a123456789012345678901234567890123456789012345678901234567890123"}) {
    auto r = WithDatabaseName("postgresql://h/p", bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(dvc::status::ReasonOf(r.status()), "DB_NAME_INVALID");
  }
  EXPECT_TRUE(IsValidDatabaseName("Dvc_2"));
}

TEST(WithDatabaseNameTest, RejectsOtherSchemes) {
  EXPECT_EQ(dvc::status::ReasonOf(WithDatabaseName("mysql://h/p", "x").status()),
            "DB_URL_INVALID");
}

}  // namespace
}  // namespace dvc::pg

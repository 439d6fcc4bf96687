#include "libs/config/config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace dvc::config {
namespace {

TEST(Config, FlagsWinOverEnvWhichWinsOverDefaults) {
  Source src({"--grpc_port=6000"}, {{"GRPC_PORT", "7000"}, {"NAME", "from-env"}});
  EXPECT_EQ(src.Int("grpc_port", 50051, "port", 1, 65535), 6000);
  EXPECT_EQ(src.String("name", "def", "a name"), "from-env");
  EXPECT_EQ(src.String("other", "def", "other"), "def");
  EXPECT_TRUE(src.Finish().ok());
}

TEST(Config, CollectsEveryProblem) {
  Source src({"--grpc_port=abc", "--bogus=1", "--ttl=-5s"}, {});
  src.Int("grpc_port", 1, "port", 1, 65535);
  src.Duration("ttl", absl::Seconds(1), "ttl");
  src.String("database_url", "", "db", /*required=*/true);
  absl::Status s = src.Finish();
  ASSERT_FALSE(s.ok());
  std::string m(s.message());
  EXPECT_NE(m.find("grpc_port"), std::string::npos);
  EXPECT_NE(m.find("unknown flag --bogus"), std::string::npos);
  EXPECT_NE(m.find("ttl"), std::string::npos);
  EXPECT_NE(m.find("database_url: required"), std::string::npos);
}

TEST(Config, RangeChecked) {
  Source src({"--grpc_port=70000"}, {});
  src.Int("grpc_port", 1, "port", 1, 65535);
  EXPECT_FALSE(src.Finish().ok());
}

TEST(Config, SecretsFromFileOrEnvButNeverFlagsAndNeverDescribed) {
  std::string path = ::testing::TempDir() + "/secret.txt";
  std::ofstream(path) << "s3cr3t\n";
  Source a({"--otp_key_file=" + path}, {});
  EXPECT_EQ(a.Secret("otp_key", "hmac key", true), "s3cr3t");
  EXPECT_TRUE(a.Finish().ok());
  EXPECT_EQ(a.Describe().find("s3cr3t"), std::string::npos);

  Source b({}, {{"OTP_KEY", "envsecret"}});
  EXPECT_EQ(b.Secret("otp_key", "hmac key", true), "envsecret");
  EXPECT_TRUE(b.Finish().ok());

  Source c({"--otp_key=oops"}, {});
  c.Secret("otp_key", "hmac key", true);
  EXPECT_FALSE(c.Finish().ok());
}

TEST(Config, DescribeHidesUrlPasswords) {
  Source src({"--database_url=postgresql://app:hunter2@db:5432/x"}, {});
  src.String("database_url", "", "db");
  EXPECT_EQ(src.Describe().find("hunter2"), std::string::npos);
  Source kw({"--database_url=host=db user=app password=hunter3 dbname=x",
             "--other_url=postgresql://db/x?sslmode=require&password=hunter4"},
            {});
  kw.String("database_url", "", "db");
  kw.String("other_url", "", "db");
  EXPECT_EQ(kw.Describe().find("hunter3"), std::string::npos) << kw.Describe();
  EXPECT_EQ(kw.Describe().find("hunter4"), std::string::npos) << kw.Describe();
  EXPECT_NE(kw.Describe().find("dbname=x"), std::string::npos);
}

TEST(Config, SubcommandAndEnum) {
  char a0[] = "svc", a1[] = "migrate", a2[] = "--log_level=loud";
  char* argv[] = {a0, a1, a2};
  Source src(3, argv, {"migrate"});
  EXPECT_EQ(src.subcommand(), "migrate");
  src.Enum("log_level", "info", "verbosity", {"debug", "info", "warn", "error"});
  absl::Status s = src.Finish();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(std::string(s.message()).find("log_level: 'loud' is not one of"), std::string::npos);
  char* argv2[] = {a0, a1};
  Source plain(2, argv2);
  EXPECT_EQ(plain.subcommand(), "");
  EXPECT_FALSE(plain.Finish().ok());  // an unexpected positional argument
}

TEST(Config, Bools) {
  Source src({"--dev=yes", "--x=maybe"}, {});
  EXPECT_TRUE(src.Bool("dev", false, "dev"));
  src.Bool("x", false, "x");
  EXPECT_FALSE(src.Finish().ok());
}

}  // namespace
}  // namespace dvc::config

#include "services/auth/adapters/key_dir.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <utime.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/crypto/random.h"
#include "libs/jwt/jwt.h"

namespace dvc::auth {
namespace {

namespace fs = std::filesystem;

class KeyDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    root_ = absl::StrCat(tmp ? tmp : "/tmp", "/keys_",
                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
  }
  void SetMtime(const std::string& path, time_t t) {
    struct utimbuf u {
      t, t
    };
    ASSERT_EQ(::utime(path.c_str(), &u), 0);
  }
  std::string root_;
  crypto::OsRandom random_;
};

TEST_F(KeyDirTest, CreatesTheDirectoryAndAFirstKey) {
  std::string dir = root_ + "/nested/keys";
  auto kd = KeyDirectory::Open(dir, &random_);
  ASSERT_TRUE(kd.ok()) << kd.status();
  auto keys = (*kd)->Keys();
  ASSERT_EQ(keys->keys.size(), 1u);
  struct stat st;
  ASSERT_EQ(::stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700);
  std::string file = absl::StrCat(dir, "/", keys->signer->kid(), ".pem");
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  // Opening again reuses the key.
  auto again = KeyDirectory::Open(dir, &random_);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->Keys()->signer->kid(), keys->signer->kid());
}

TEST_F(KeyDirTest, NewestFileSignsAndAllVerify) {
  fs::create_directories(root_);
  auto old_kid = KeyDirectory::GenerateKeyFile(root_, absl::FromUnixSeconds(1700000000), &random_);
  ASSERT_TRUE(old_kid.ok());
  SetMtime(absl::StrCat(root_, "/", *old_kid, ".pem"), 1700000000);
  auto kd = KeyDirectory::Open(root_, &random_);
  ASSERT_TRUE(kd.ok());
  auto token = jwt::Sign(*(*kd)->Keys()->signer, "{\"sub\":\"x\"}");
  ASSERT_TRUE(token.ok());

  auto new_kid = KeyDirectory::GenerateKeyFile(root_, absl::Now(), &random_);
  ASSERT_TRUE(new_kid.ok());
  EXPECT_EQ((*kd)->Keys()->signer->kid(), *old_kid);  // not before Reload
  ASSERT_TRUE((*kd)->Reload().ok());
  auto keys = (*kd)->Keys();
  EXPECT_EQ(keys->signer->kid(), *new_kid);
  EXPECT_TRUE(keys->verifier.Verify(*token).ok());
  EXPECT_TRUE(absl::StrContains(keys->jwks_json, *old_kid));
  EXPECT_TRUE(absl::StrContains(keys->jwks_json, *new_kid));
}

TEST_F(KeyDirTest, BadFileFailsOpenAndReloadKeepsThePreviousKeys) {
  fs::create_directories(root_);
  std::ofstream(root_ + "/broken.pem") << "-----BEGIN PRIVATE KEY-----\nnope\n";
  EXPECT_FALSE(KeyDirectory::Open(root_, &random_).ok());
  fs::remove(root_ + "/broken.pem");
  auto kd = KeyDirectory::Open(root_, &random_);
  ASSERT_TRUE(kd.ok());
  std::string kid = (*kd)->Keys()->signer->kid();
  std::ofstream(root_ + "/broken.pem") << "garbage";
  EXPECT_FALSE((*kd)->Reload().ok());
  EXPECT_EQ((*kd)->Keys()->signer->kid(), kid);
}

}  // namespace
}  // namespace dvc::auth

#include "libs/crypto/random.h"

#include <map>
#include <set>
#include <string>

#include "gtest/gtest.h"
#include "libs/crypto/encoding.h"
#include "libs/crypto/testing/fake_random.h"

namespace dvc::crypto {
namespace {

using ::dvc::crypto::testing::FakeRandom;

TEST(OsRandomTest, BytesHaveRequestedLengthAndDiffer) {
  OsRandom r;
  EXPECT_EQ(r.Bytes(0).size(), 0u);
  std::string a = r.Bytes(32), b = r.Bytes(32);
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, b);
}

TEST(OsRandomTest, UniformStaysInRangeAndCoversIt) {
  OsRandom r;
  std::map<uint64_t, int> seen;
  for (int i = 0; i < 2000; ++i) {
    uint64_t v = r.Uniform(7);
    ASSERT_LT(v, 7u);
    seen[v]++;
  }
  EXPECT_EQ(seen.size(), 7u);
  EXPECT_EQ(r.Uniform(1), 0u);
  EXPECT_EQ(r.Uniform(0), 0u);
}

// A Random whose words are scripted, to check the rejection step of UniformFromBytes.
class ScriptedWords final : public Random {
 public:
  explicit ScriptedWords(std::vector<uint64_t> words) : words_(std::move(words)) {}
  std::string Bytes(size_t n) override {
    EXPECT_EQ(n, 8u);
    uint64_t w = words_.at(next_++);
    std::string out;
    for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>(w >> (8 * i)));
    return out;
  }
  uint64_t Uniform(uint64_t n) override { return UniformFromBytes(*this, n); }
  size_t used() const { return next_; }

 private:
  std::vector<uint64_t> words_;
  size_t next_ = 0;
};

TEST(UniformFromBytesTest, RejectsBiasedLowWords) {
  // For n = 10, 2^64 mod 10 = 6: words 0..5 must be rejected.
  ScriptedWords r({0, 5, 6});
  EXPECT_EQ(r.Uniform(10), 6u);
  EXPECT_EQ(r.used(), 3u);
  ScriptedWords r2({UINT64_MAX});
  EXPECT_EQ(r2.Uniform(10), UINT64_MAX % 10);
}

TEST(RandomDigitsTest, FormatAndScripted) {
  FakeRandom r;
  r.PushDigits("048213");
  EXPECT_EQ(RandomDigits(r, 6), "048213");
  std::string d = RandomDigits(r, 20);
  ASSERT_EQ(d.size(), 20u);
  for (char c : d) EXPECT_TRUE(c >= '0' && c <= '9');
  EXPECT_EQ(RandomDigits(r, 0), "");
}

TEST(RandomDigitsTest, AllDigitsAppear) {
  OsRandom r;
  std::set<char> seen;
  for (char c : RandomDigits(r, 500)) seen.insert(c);
  EXPECT_EQ(seen.size(), 10u);
}

TEST(RandomTokenTest, Base64UrlWithoutPadding) {
  FakeRandom r;
  std::string t = RandomToken(r, 32);
  EXPECT_EQ(t.size(), 43u);
  EXPECT_EQ(t.find_first_not_of(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
            std::string::npos);
  EXPECT_EQ(Base64UrlDecode(t)->size(), 32u);
}

TEST(UuidTest, VersionAndVariantBits) {
  FakeRandom r;
  r.PushBytes(std::string(16, '\xff'));
  EXPECT_EQ(NewUuidV4(r), "ffffffff-ffff-4fff-bfff-ffffffffffff");
  r.PushBytes(std::string(16, '\0'));
  EXPECT_EQ(NewUuidV4(r), "00000000-0000-4000-8000-000000000000");
  OsRandom os;
  std::string u = NewUuidV4(os);
  ASSERT_EQ(u.size(), 36u);
  EXPECT_EQ(u[14], '4');
  EXPECT_NE(std::string("89ab").find(u[19]), std::string::npos);
  EXPECT_NE(NewUuidV4(os), u);
}

TEST(FakeRandomTest, DeterministicPerSeed) {
  FakeRandom a(7), b(7), c(8);
  EXPECT_EQ(a.Bytes(24), b.Bytes(24));
  EXPECT_NE(FakeRandom(7).Bytes(24), c.Bytes(24));
  FakeRandom d;
  d.PushBytes("ab");
  std::string out = d.Bytes(5);
  EXPECT_EQ(out.substr(0, 2), "ab");
  EXPECT_EQ(out.size(), 5u);
}

}  // namespace
}  // namespace dvc::crypto

#include "services/registration/adapters/keys.h"

#include <gtest/gtest.h>

namespace dvc::registration {
namespace {

TEST(DerivePiiKeys, AcceptsBase64HexAndRawAndDerivesDistinctKeys) {
  const std::string raw(32, '\x5a');
  const std::string b64 = "WlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlo=\n";  // 32 × 'Z'
  const std::string hex(64, 'a');
  auto a = DerivePiiKeys(b64);
  auto b = DerivePiiKeys(raw);
  auto c = DerivePiiKeys(hex);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(a->seal_key, b->seal_key);  // same material, same keys
  EXPECT_NE(a->seal_key, c->seal_key);
  EXPECT_EQ(a->seal_key.size(), 32u);
  EXPECT_EQ(a->blind_index_key.size(), 32u);
  EXPECT_NE(a->seal_key, a->blind_index_key);
  EXPECT_NE(a->seal_key, raw);  // never the shared secret itself
}

TEST(DerivePiiKeys, RejectsShortOrGarbage) {
  EXPECT_FALSE(DerivePiiKeys("").ok());
  EXPECT_FALSE(DerivePiiKeys("c2hvcnQ=").ok());  // "short"
  EXPECT_FALSE(DerivePiiKeys("not a key at all").ok());
}

}  // namespace
}  // namespace dvc::registration

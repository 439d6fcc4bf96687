#include "libs/jwt/json.h"

#include <string>

#include "gtest/gtest.h"

namespace dvc::jwt {
namespace {

TEST(JsonQuoteTest, EscapesQuotesBackslashesAndControls) {
  EXPECT_EQ(JsonQuote(""), "\"\"");
  EXPECT_EQ(JsonQuote("a\"b"), "\"a\\\"b\"");
  EXPECT_EQ(JsonQuote("a\\b"), "\"a\\\\b\"");
  EXPECT_EQ(JsonQuote("l1\nl2\r\t\b\f"), "\"l1\\nl2\\r\\t\\b\\f\"");
  EXPECT_EQ(JsonQuote(std::string("\x00\x01\x1f\x7f", 4)), "\"\\u0000\\u0001\\u001f\\u007f\"");
  EXPECT_EQ(JsonQuote("</script>"), "\"</script>\"");
}

TEST(JsonQuoteTest, KeepsVietnameseAndReplacesInvalidUtf8) {
  EXPECT_EQ(JsonQuote("Nguyễn Văn Đức"), "\"Nguyễn Văn Đức\"");
  EXPECT_EQ(JsonQuote("😀"), "\"😀\"");
  EXPECT_EQ(JsonQuote("a\xff" "b"), "\"a\xEF\xBF\xBD" "b\"");
  EXPECT_EQ(JsonQuote("\xC3"), "\"\xEF\xBF\xBD\"");               // truncated sequence
  EXPECT_EQ(JsonQuote("\xC0\xAF"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");  // overlong '/'
  EXPECT_EQ(JsonQuote("\xED\xA0\x80"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");  // surrogate
  EXPECT_EQ(JsonQuote("a\u2028b\u2029"), "\"a\\u2028b\\u2029\"");
}

TEST(JsonBuilderTest, BuildsCompactObjectAndReplacesDuplicates) {
  std::string json = JsonObjectBuilder()
                         .String("name", "Trần \"Bé\"")
                         .Int("exp", -9223372036854775807LL - 1)
                         .Bool("ok", true)
                         .Null("n")
                         .StringArray("amr", {"pwd", "otp"})
                         .Object("inner", JsonObjectBuilder().Int("a", 1))
                         .String("name", "Lê")
                         .Build();
  EXPECT_EQ(json,
            "{\"name\":\"Lê\",\"exp\":-9223372036854775808,\"ok\":true,\"n\":null,"
            "\"amr\":[\"pwd\",\"otp\"],\"inner\":{\"a\":1}}");
  EXPECT_EQ(JsonObjectBuilder().Build(), "{}");
  EXPECT_EQ(JsonObjectBuilder().String("k\"ey", "v").Build(), "{\"k\\\"ey\":\"v\"}");
}

TEST(JsonBuilderTest, RawIsValidated) {
  JsonObjectBuilder b;
  EXPECT_TRUE(b.Raw("jwk", "{\"kty\":\"EC\"}").ok());
  EXPECT_TRUE(b.Raw("n", " 12 ").ok());
  EXPECT_FALSE(b.Raw("bad", "{\"a\":1}, \"x\":2").ok());  // injection attempt
  EXPECT_FALSE(b.Raw("bad", "").ok());
  EXPECT_FALSE(b.Raw("bad", "{").ok());
  EXPECT_EQ(b.Build(), "{\"jwk\":{\"kty\":\"EC\"},\"n\": 12 }");
}

TEST(JsonRoundTripTest, WriterOutputParsesBack) {
  std::string tricky = "q\"b\\s/ctl\x01\n tab\t Việt Nam ✓ 😀 \u2028 end";
  std::string json = JsonObjectBuilder().String("s", tricky).Int("i", 42).Build();
  auto parsed = ParseFlatJson(json);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->GetString("s"), tricky);
  EXPECT_EQ(parsed->GetInt("i"), 42);
}

TEST(ParseFlatJsonTest, ReadsTopLevelMembers) {
  auto j = ParseFlatJson(
      " {\"sub\":\"acc-1\", \"exp\": 1700000000, \"neg\":-5, \"f\":1.5, \"e\":1e3,"
      "\"ok\":false, \"nil\":null, \"aud\":[\"a\",\"b\"], \"mix\":[1,\"x\"],"
      "\"obj\":{\"deep\":[{\"x\":[]}]}, \"esc\":\"\\u1ec5\\ud83d\\ude00\\/\"} ");
  ASSERT_TRUE(j.ok()) << j.status();
  EXPECT_EQ(j->GetString("sub"), "acc-1");
  EXPECT_EQ(j->GetInt("exp"), 1700000000);
  EXPECT_EQ(j->GetInt("neg"), -5);
  EXPECT_FALSE(j->GetInt("f").has_value());
  EXPECT_FALSE(j->GetInt("e").has_value());
  EXPECT_FALSE(j->GetInt("sub").has_value());
  EXPECT_FALSE(j->GetString("exp").has_value());
  EXPECT_EQ(j->GetBool("ok"), false);
  EXPECT_TRUE(j->Has("nil"));
  EXPECT_FALSE(j->Has("missing"));
  EXPECT_EQ(j->GetStringArray("aud"), (std::vector<std::string>{"a", "b"}));
  EXPECT_FALSE(j->GetStringArray("mix").has_value());
  EXPECT_EQ(j->GetRaw("obj"), "{\"deep\":[{\"x\":[]}]}");
  EXPECT_EQ(j->GetRaw("sub"), "\"acc-1\"");
  EXPECT_EQ(j->GetString("esc"), "ễ😀/");
}

TEST(ParseFlatJsonTest, IntRange) {
  EXPECT_EQ(ParseFlatJson("{\"a\":9223372036854775807}")->GetInt("a"), INT64_MAX);
  EXPECT_FALSE(ParseFlatJson("{\"a\":9223372036854775808}")->GetInt("a").has_value());
  EXPECT_EQ(ParseFlatJson("{\"a\":-9223372036854775808}")->GetInt("a"), INT64_MIN);
  EXPECT_EQ(ParseFlatJson("{\"a\":0}")->GetInt("a"), 0);
  EXPECT_EQ(ParseFlatJson("{\"a\":-0}")->GetInt("a"), 0);
}

TEST(ParseFlatJsonTest, RejectsMalformed) {
  for (std::string bad : {
           std::string(""), std::string("   "), std::string("[]"), std::string("\"s\""),
           std::string("42"), std::string("{"), std::string("}"), std::string("{\"a\"}"),
           std::string("{\"a\":}"), std::string("{\"a\":1,}"), std::string("{,}"),
           std::string("{a:1}"), std::string("{'a':1}"), std::string("{\"a\":1}}"),
           std::string("{\"a\":1} x"), std::string("{\"a\":1}{\"b\":2}"),
           std::string("{\"a\":01}"), std::string("{\"a\":1.}"), std::string("{\"a\":.5}"),
           std::string("{\"a\":+1}"), std::string("{\"a\":1e}"), std::string("{\"a\":-}"),
           std::string("{\"a\":NaN}"), std::string("{\"a\":tru}"), std::string("{\"a\":nul}"),
           std::string("{\"a\":\"x}"), std::string("{\"a\":\"\n\"}"),
           std::string("{\"a\":\"\\x\"}"), std::string("{\"a\":\"\\u12\"}"),
           std::string("{\"a\":\"\\ud800\"}"), std::string("{\"a\":\"\\udc00\"}"),
           std::string("{\"a\":\"\\ud800\\u0041\"}"), std::string("{\"a\":\"\xff\"}"),
           std::string("{\"a\":\"\xC0\xAF\"}"), std::string("{\"a\":[1,2}"),
           std::string("{\"a\":[1 2]}"), std::string("{\"a\":1,\"a\":2}"),
           std::string("{\"a\":1}\0", 8),
       }) {
    EXPECT_FALSE(ParseFlatJson(bad).ok()) << bad;
  }
}

TEST(ParseFlatJsonTest, DepthAndSizeLimits) {
  std::string ok = "{\"a\":" + std::string(60, '[') + std::string(60, ']') + "}";
  EXPECT_TRUE(ParseFlatJson(ok).ok());
  std::string deep = "{\"a\":" + std::string(100000, '[') + std::string(100000, ']') + "}";
  EXPECT_FALSE(ParseFlatJson(deep).ok());  // must not overflow the stack
  std::string big = "{\"a\":\"" + std::string(2 << 20, 'x') + "\"}";
  EXPECT_FALSE(ParseFlatJson(big).ok());
}

TEST(IsValidJsonTest, AnyValue) {
  EXPECT_TRUE(IsValidJson("[1,{\"a\":[true,false,null]},\"s\"]"));
  EXPECT_TRUE(IsValidJson("-1.5e-3"));
  EXPECT_TRUE(IsValidJson("{\"a\":1,\"a\":2}"));  // duplicates only matter at the top of a FlatJson
  EXPECT_FALSE(IsValidJson("[1,]"));
  EXPECT_FALSE(IsValidJson("1 2"));
}

}  // namespace
}  // namespace dvc::jwt

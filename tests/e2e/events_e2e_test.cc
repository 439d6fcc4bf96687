// Account events on Kafka (ACC-5) through the transactional outbox: published once per change,
// and none lost while the broker is down. Runs against the stack started by tools/test.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "absl/strings/str_format.h"
#include "protos/dvc/events/v1/account_events.pb.h"
#include "tests/e2e/stack.h"

namespace dvc::e2e {
namespace {

namespace acc = ::dvc::accounts::v1;
namespace ev = ::dvc::events::v1;

acc::Account CreateDirect(Stack& stack, int i, const std::string& tag) {
  Person p = stack.NewPerson();
  acc::CreateCitizenAccountRequest r;
  r.set_request_id(absl::StrFormat("events-%s-%d-%s", tag, i, p.cccd));
  r.mutable_identity()->set_cccd(p.cccd);
  r.mutable_identity()->set_full_name(p.full_name);
  r.mutable_identity()->set_date_of_birth(p.date_of_birth);
  r.mutable_identity()->set_phone(p.phone);
  r.set_ial(2);
  r.set_verification_source("TELCO");
  r.set_registration_method("MOBILE");
  r.set_password("Quoc-Gia@2026x");
  acc::Account a;
  grpc::Status s = stack.accounts().CreateCitizenAccount(Ctx().get(), r, &a);
  EXPECT_TRUE(s.ok()) << ReasonOf(s) << " " << s.error_message();
  return a;
}

TEST(Events, AccountCreatedAndCredentialSetArePublishedOnce) {
  Stack stack;
  acc::Account a = CreateDirect(stack, 0, "once");
  ASSERT_FALSE(a.account_id().empty());
  EventsSeen seen = ReadAccountEvents({a.account_id()}, absl::Seconds(30));
  const auto& events = seen.by_account[a.account_id()];
  int created = 0, credential = 0;
  for (const auto& e : events) {
    EXPECT_EQ(seen.event_id_count[e.event_id()], 1) << "duplicate event " << e.event_id();
    if (e.has_account_created()) {
      created++;
      EXPECT_EQ(e.account_created().ial(), 2);
      EXPECT_EQ(e.account_created().subject_kind(), ev::SUBJECT_KIND_CITIZEN);
      EXPECT_EQ(e.account_created().verification_source(), "TELCO");
    }
    if (e.has_credential_changed()) {
      credential++;
      EXPECT_EQ(e.credential_changed().credential_type(), "PASSWORD");
    }
  }
  EXPECT_EQ(created, 1);
  EXPECT_EQ(credential, 1);
}

TEST(Events, BrokerDownLosesNoEventAndDuplicatesNone) {
  Stack stack;
  ASSERT_TRUE(stack.KafkaBrokers(false).ok());
  std::set<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    acc::Account a = CreateDirect(stack, i, "outage");
    if (!a.account_id().empty()) ids.insert(a.account_id());
  }
  // Account creation does not depend on the broker; the events wait in the outbox.
  ASSERT_EQ(ids.size(), 5u);
  absl::SleepFor(absl::Seconds(3));
  ASSERT_TRUE(stack.KafkaBrokers(true).ok());
  EventsSeen seen = ReadAccountEvents(ids, absl::Seconds(60));
  for (const auto& id : ids) {
    int created = 0;
    for (const auto& e : seen.by_account[id]) {
      created += e.has_account_created() ? 1 : 0;
      EXPECT_EQ(seen.event_id_count[e.event_id()], 1) << "event " << e.event_id() << " twice";
    }
    EXPECT_EQ(created, 1) << "account " << id;
  }
}

}  // namespace
}  // namespace dvc::e2e

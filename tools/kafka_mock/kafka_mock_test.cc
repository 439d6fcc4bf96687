#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "libs/kafka/mock_cluster.h"
#include "libs/kafka/producer.h"
#include "libs/kafka/testing/test_consumer.h"
#include "tools/kafka_mock/control.h"

namespace dvc::kafka_mock {
namespace {

// ---- in-process routing -----------------------------------------------------------------------

TEST(HandleControlTest, Routes) {
  auto c = kafka::MockCluster::Create(2);
  ASSERT_TRUE(c.ok());
  kafka::MockCluster& cl = **c;
  EXPECT_EQ(HandleControl(cl, "GET", "/health").body, "ok brokers_up=true");
  EXPECT_EQ(HandleControl(cl, "GET", "/bootstrap").body, cl.bootstrap());
  EXPECT_EQ(HandleControl(cl, "GET", "/brokers/down").code, 405);
  EXPECT_EQ(HandleControl(cl, "POST", "/health").code, 405);
  EXPECT_EQ(HandleControl(cl, "GET", "/nope").code, 404);
  EXPECT_EQ(HandleControl(cl, "POST", "/brokers/down?id=3").code, 400);
  EXPECT_EQ(HandleControl(cl, "POST", "/brokers/down?id=x").code, 400);
  EXPECT_EQ(HandleControl(cl, "POST", "/brokers/down?id=2").code, 200);
  EXPECT_EQ(HandleControl(cl, "GET", "/health").body, "ok brokers_up=false");
  EXPECT_EQ(HandleControl(cl, "POST", "/brokers/up").code, 200);
  EXPECT_EQ(HandleControl(cl, "GET", "/health").body, "ok brokers_up=true");
  EXPECT_EQ(HandleControl(cl, "POST", "/brokers/down").code, 200);
  EXPECT_EQ(HandleControl(cl, "GET", "/health").body, "ok brokers_up=false");
  EXPECT_EQ(HandleControl(cl, "POST", "/topics?name=a&partitions=2").code, 200);
  EXPECT_EQ(HandleControl(cl, "POST", "/topics?partitions=2").code, 400);
  EXPECT_EQ(HandleControl(cl, "POST", "/topics?name=b&partitions=zz").code, 400);
}

// ---- the binary as a subprocess -----------------------------------------------------------------

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

// Minimal HTTP/1.1 client: returns "<code> <body>".
std::string Http(int port, const std::string& method, const std::string& path) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    close(fd);
    return "connect failed";
  }
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n";
  send(fd, req.data(), req.size(), 0);
  std::string resp;
  char buf[512];
  ssize_t n;
  while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) resp.append(buf, n);
  close(fd);
  size_t sp = resp.find(' ');
  size_t body = resp.find("\r\n\r\n");
  if (sp == std::string::npos || body == std::string::npos) return "bad response";
  std::string b = resp.substr(body + 4);
  while (!b.empty() && b.back() == '\n') b.pop_back();
  return resp.substr(sp + 1, 3) + " " + b;
}

TEST(KafkaMockBinaryTest, ServesKafkaAndControlAndStopsOnSigterm) {
  const int control = FreePort();
  int out[2];
  ASSERT_EQ(pipe(out), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    dup2(out[1], 1);
    close(out[0]);
    std::string port_flag = absl::StrCat("--control_port=", control);
    execl("tools/kafka_mock/kafka_mock", "kafka_mock", "--topics=t.one:2,t.two:1",
          port_flag.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out[1]);
  FILE* f = fdopen(out[0], "r");
  char line[512] = {0};
  ASSERT_NE(fgets(line, sizeof(line), f), nullptr) << "no output from kafka_mock";
  std::string first(line);
  ASSERT_EQ(first.rfind("KAFKA_BROKERS=127.0.0.1:", 0), 0u) << first;
  std::string bootstrap = first.substr(14, first.size() - 15);

  EXPECT_EQ(Http(control, "GET", "/health"), "200 ok brokers_up=true");
  EXPECT_EQ(Http(control, "GET", "/bootstrap"), "200 " + bootstrap);

  // An idempotent producer works against the single default broker.
  kafka::ProducerOptions po;
  po.bootstrap_servers = bootstrap;
  po.delivery_timeout = absl::Seconds(10);
  auto producer = kafka::Producer::Create(po);
  ASSERT_TRUE(producer.ok());
  auto r = (*producer)->ProduceSync({"t.one", "k", "v1", {{"h", "1"}}}, absl::Seconds(10));
  ASSERT_TRUE(r.ok()) << r.status();

  EXPECT_EQ(Http(control, "POST", "/brokers/down"), "200 down");
  EXPECT_EQ(Http(control, "GET", "/health"), "200 ok brokers_up=false");
  EXPECT_EQ(Http(control, "POST", "/brokers/up"), "200 up");
  r = (*producer)->ProduceSync({"t.one", "k", "v2", {}}, absl::Seconds(10));
  ASSERT_TRUE(r.ok()) << r.status();

  auto consumer = kafka::testing::TestConsumer::Create(bootstrap, "t.one");
  ASSERT_TRUE(consumer.ok()) << consumer.status();
  auto got = (*consumer)->Consume(2, absl::Seconds(10));
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].value, "v1");
  EXPECT_EQ(got[0].Header("h"), "1");
  EXPECT_EQ(got[1].value, "v2");
  consumer->reset();
  producer->reset();

  ASSERT_EQ(kill(pid, SIGTERM), 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(fgets(line, sizeof(line), f), nullptr) << "only one stdout line expected: " << line;
  fclose(f);
}

TEST(KafkaMockBinaryTest, RejectsBadTopicSpec) {
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    execl("tools/kafka_mock/kafka_mock", "kafka_mock", "--topics=t:abc",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 2);
}

}  // namespace
}  // namespace dvc::kafka_mock
